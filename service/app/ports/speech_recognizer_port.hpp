// Streaming speech-to-text for the dial's nested `transcribe` (app/session/transcribe_session). A stream is one
// channel of one call: 16 kHz mono PCM is fed utterance by utterance, each feed answers with the partial
// hypothesis so far, end_utterance() with the final one. open() answers at once (no waiting for a busy engine):
// a stream, or the reason there is none, which goes to the transcriptionHook as an error event.
//
// Vendors are jambonz's `recognizer.vendor` names. The embedded engine (pocketsphinx, en-US) answers to an
// absent vendor, "default" and "pocketsphinx"; a cloud vendor (google, aws, microsoft, deepgram, …) is refused
// with "speech recognizer vendor X is not configured on this platform", another language with "language X is
// not supported by the embedded recognizer (en-US only)".
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dp::app {

struct SttHypothesisResult {
  std::string text;
  double confidence = 0;  // finals: 0..1; partials: 0
  std::string error;      // set: the engine failed on this step (the stream is unusable)
};

class SpeechStreamPort {
 public:
  virtual ~SpeechStreamPort() = default;  // gives the engine back (an open utterance is discarded)
  // Decodes `pcm16k` into the current utterance (opened when none is). Waits at most `timeout`: then throws
  // io::WorkerTimeout (the decode goes on; its result is dropped). Throws io::WorkerBusy at shutdown.
  virtual boost::asio::awaitable<SttHypothesisResult> feed(std::vector<std::int16_t> pcm16k,
                                                           std::chrono::milliseconds timeout) = 0;
  // Ends the utterance and returns its final hypothesis ("" when nothing was recognised). Same errors.
  virtual boost::asio::awaitable<SttHypothesisResult> end_utterance(std::chrono::milliseconds timeout) = 0;
};

struct SttOpen {
  std::unique_ptr<SpeechStreamPort> stream;  // null: see error
  std::string error;
  bool pool_exhausted = false;  // every decoder is in use (the others' calls go on)
};

class SpeechRecognizerPort {
 public:
  virtual ~SpeechRecognizerPort() = default;
  virtual int sample_rate() const = 0;  // of the PCM a stream takes (16000)
  // At once, never waiting for a decoder.
  virtual SttOpen open(std::string_view vendor, std::string_view language) = 0;
};

}  // namespace dp::app
