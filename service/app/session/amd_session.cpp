#include "app/session/amd_session.hpp"

#include "core/log.hpp"
#include "io/media/webrtc_vad.hpp"

#include <boost/asio.hpp>
#include <deque>
#include <memory>
#include <vector>

namespace dp::app {

namespace asio = boost::asio;

// Coroutines follow docs/coroutines.md (named locals before every co_await).

namespace {

constexpr auto kPoll = std::chrono::milliseconds(100);  // events reach the hook within this of their frame
constexpr long long kMaxRunMs = 10 * 60 * 1000;         // the detector's timers end it long before

// The frames' analysis, fed from the fork's sink (same thread): VAD + detector, events queued for delivery.
struct Analysis {
  explicit Analysis(const core::amd::Params& p) : vad(p.vad_aggressiveness), detector(p) {}
  io::WebrtcVad vad;
  core::amd::Detector detector;
  std::deque<core::amd::Event> pending;

  void frame(std::span<const std::int16_t> pcm) {
    if (detector.stopped() || pcm.size() != core::amd::kFrameSamples) return;
    for (auto& e : detector.push(pcm, vad.is_voice(pcm))) pending.push_back(std::move(e));
  }
  void stop() {
    for (auto& e : detector.stop()) pending.push_back(std::move(e));
  }
};

}  // namespace

asio::awaitable<bool> AmdRun::run(Deps d, AmdTarget target, core::amd::Params params, OnEvent on_event,
                                  Wanted wanted) {
  auto analysis = std::make_shared<Analysis>(params);
  std::vector<std::string> tags{target.tag};
  AudioForkSpec spec{target.node, target.call_id, tags};
  AudioSink sink = [analysis](std::size_t, std::span<const std::int16_t> pcm) { analysis->frame(pcm); };
  std::shared_ptr<AudioFork> fork;
  try {
    fork = co_await AudioFork::start(d.ex, d.media, d.fork, spec, sink);
  } catch (const std::exception& e) {
    log::warn("amd_fork_failed", {{"call_id", target.call_id}, {"error", e.what()}});
    co_return false;
  }
  long long waited = 0;
  for (;;) {
    while (!analysis->pending.empty()) {
      auto ev = std::move(analysis->pending.front());
      analysis->pending.pop_front();
      co_await on_event(ev);
    }
    if (analysis->detector.stopped()) break;
    bool still = co_await wanted();
    if (!still || waited > kMaxRunMs || !fork->running()) {
      analysis->stop();  // amd_stopped goes out with the rest
      continue;
    }
    asio::steady_timer t(d.ex, kPoll);
    co_await t.async_wait(asio::use_awaitable);
    waited += kPoll.count();
  }
  co_await fork->stop();
  co_return true;
}

}  // namespace dp::app
