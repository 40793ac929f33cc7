// The SpeechRecognizerPort over the embedded engine (io::PocketsphinxPool): vendor and language checked by
// core::stt::refusal, a decoder taken from the pool at once or refused (pool exhausted). `on_in_use` reports
// the decoders in use after every change (the metrics' gauge).
#pragma once
#include "app/ports/speech_recognizer_port.hpp"
#include "io/media/pocketsphinx_recognizer.hpp"

#include <functional>
#include <memory>

namespace dp::app {

class EmbeddedRecognizer final : public SpeechRecognizerPort {
 public:
  using OnInUse = std::function<void(std::size_t in_use, std::size_t size)>;
  // `pool` null: the engine is off (its model is missing): every open() says why (`off_reason`).
  EmbeddedRecognizer(io::PocketsphinxPool* pool, std::string off_reason, OnInUse on_in_use);
  ~EmbeddedRecognizer();
  EmbeddedRecognizer(const EmbeddedRecognizer&) = delete;
  EmbeddedRecognizer& operator=(const EmbeddedRecognizer&) = delete;
  int sample_rate() const override { return io::PocketsphinxPool::kSampleRate; }
  SttOpen open(std::string_view vendor, std::string_view language) override;

 private:
  void report() const;
  io::PocketsphinxPool* pool_;
  std::string off_reason_;
  OnInUse on_in_use_;
  // Streams may outlive the recognizer (a call task unwound after the Service's components): they report to it
  // only while it is alive.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dp::app
