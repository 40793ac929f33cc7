// The embedded text-to-speech engine: CMU flite (Debian's flite1-dev) with its US English female voice `slt`,
// 16 kHz mono PCM, rendered into the MediaStore as `<sha256("flite|slt|" + text)>.wav`.
//
// flite is blocking C code with process-wide state: every synthesis runs on this engine's own thread (a
// WorkerThread), never on an io_context thread, one at a time. At most `max_waiting` requests queue or render;
// one more is refused at once. A request waits at most `timeout` (and stops waiting when its task is cancelled;
// the rendering then finishes on its thread and is dropped). Text is capped at `max_text_bytes`. Concurrent
// requests for the same text share one rendering.
#pragma once
#include "io/media/media_observer.hpp"
#include "io/media/media_store.hpp"
#include "io/media/single_flight.hpp"
#include "io/media/speech_engine.hpp"
#include "io/media/worker_thread.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace dp::io {

class FliteTts final : public SpeechEngine {
 public:
  static constexpr std::string_view kName = "flite";
  static constexpr std::string_view kVoice = "slt";

  struct Options {
    std::size_t max_text_bytes = 3000;
    std::size_t max_waiting = 8;
    std::chrono::milliseconds timeout{15000};
    std::function<double()> clock;  // wall clock in epoch seconds; empty = io::wall_now
  };

  FliteTts(MediaStore& store, MediaObserver& observer, Options o);
  FliteTts(MediaStore& store, MediaObserver& observer) : FliteTts(store, observer, Options{}) {}

  std::string_view name() const override { return kName; }
  boost::asio::awaitable<LocalMedia> synthesize(SpeechText req) override;

  // Why flite will not render `req` ("" when it will): language other than English (US/GB, or ""), a voice
  // other than slt, empty or too long text.
  static std::string refusal(const SpeechText& req, std::size_t max_text_bytes);

  // Refuses new requests from now on (shutdown).
  void stop() { worker_.stop(); }

 private:
  struct Outcome {
    LocalMedia media;
    SpeechResult result = SpeechResult::Error;
    double engine_seconds = 0;
  };
  boost::asio::awaitable<Outcome> render(std::string text, std::string key);
  double now() const;

  MediaStore& store_;
  MediaObserver& observer_;
  Options opts_;
  SingleFlight<Outcome> flights_;
  WorkerThread worker_;
};

}  // namespace dp::io
