// The embedded text-to-speech engine: CMU flite (Debian's flite1-dev) with its US English female voice `slt`,
// 16 kHz mono PCM, rendered into the MediaStore as `<sha256("flite|slt|" + text)>.wav`.
//
// flite is blocking C code with process-wide state: every synthesis runs on this engine's own thread (a
// WorkerThread), never on an io_context thread, one at a time. At most `max_waiting` requests queue or render;
// one more is refused at once. Text is capped at `max_text_bytes`. Concurrent requests for the same text share
// one rendering, run as a task of the given TaskGroup: a request whose task is cancelled stops waiting, the
// rendering goes on for the others and is cached. A rendering not done within `timeout` is given up (flite
// finishes it on its thread; the result is dropped), as is one whose task is cancelled (shutdown).
#pragma once
#include "io/media/media_observer.hpp"
#include "io/media/media_store.hpp"
#include "io/media/single_flight.hpp"
#include "io/media/speech_engine.hpp"
#include "io/media/worker_thread.hpp"
#include "io/task_group.hpp"

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

  // `tasks` runs the renderings (the owner cancels and drains it).
  FliteTts(MediaStore& store, TaskGroup& tasks, MediaObserver& observer, Options o);
  FliteTts(MediaStore& store, TaskGroup& tasks, MediaObserver& observer)
      : FliteTts(store, tasks, observer, Options{}) {}

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
