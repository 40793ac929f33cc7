#include "app/session/transcribe_session.hpp"

#include "core/log.hpp"
#include "core/resample.hpp"
#include "io/media/webrtc_vad.hpp"
#include "io/media/worker_thread.hpp"

#include <boost/asio.hpp>
#include <deque>
#include <memory>
#include <vector>

namespace dp::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Coroutines follow docs/coroutines.md (named locals before every co_await; nothing awaited in a condition).

namespace {

constexpr auto kIdle = 40ms;                  // the loop's wait when nothing is queued
constexpr std::size_t kMinFeedSamples = 3200;  // 200 ms at 16 kHz: smaller feeds wait for more (or an end)

// What the decoder has to do, in order: decode audio into the utterance, or end it (its final).
struct Cmd {
  bool end = false;
  std::vector<std::int16_t> pcm16k;
};

// The frames' side, fed from the fork's sink (same thread as the loop): VAD, segmenter, upsampler, queue.
struct Channel {
  Channel(const TranscribeSettings& s, int factor)
      : vad(s.vad_aggressiveness), up(factor),
        max_samples(static_cast<std::size_t>(s.max_backlog.count()) * 8 * static_cast<std::size_t>(factor)) {}
  io::WebrtcVad vad;
  core::stt::Segmenter seg;
  core::Upsampler up;
  std::size_t max_samples;
  std::deque<Cmd> cmds;
  std::size_t queued = 0;  // samples in cmds
  bool paused = false;
  bool dropping = false;   // the current utterance lost audio: it is still ended (its final) but not fed more
  std::uint64_t dropped = 0;
  std::uint64_t reported_dropped = 0;

  void apply(core::stt::Segmenter::Step& st) {
    if (st.started) dropping = false;
    if (!st.audio.empty()) {
      std::size_t n = st.audio.size() * static_cast<std::size_t>(up.factor());
      if (dropping || queued + n > max_samples) {
        dropping = true;
        dropped += st.audio.size() / core::stt::kFrameSamples;
      } else {
        if (cmds.empty() || cmds.back().end) cmds.push_back(Cmd{});
        up.process(st.audio, cmds.back().pcm16k);
        queued += n;
      }
    }
    if (st.end != core::stt::Segmenter::End::None) cmds.push_back(Cmd{true, {}});
  }
  void frame(std::span<const std::int16_t> pcm) {
    if (paused || pcm.size() != core::stt::kFrameSamples) return;
    auto st = seg.push(pcm, vad.is_voice(pcm));
    apply(st);
  }
  void flush() {
    auto st = seg.flush();
    apply(st);
  }
  // The next command, with every queued feed before an end merged into one decode.
  std::optional<Cmd> next(bool force) {
    if (cmds.empty()) return std::nullopt;
    if (!cmds.front().end && cmds.size() == 1 && !force && cmds.front().pcm16k.size() < kMinFeedSamples)
      return std::nullopt;
    Cmd c = std::move(cmds.front());
    cmds.pop_front();
    queued -= c.pcm16k.size();
    return c;
  }
};

struct Step {
  SttHypothesisResult h;
  std::string failure;  // the engine failed or did not answer in time
};

std::string channel_name(int channel) { return channel == core::stt::kCaller ? "caller" : "callee"; }

}  // namespace

asio::awaitable<void> TranscribeRun::run(Deps d, TranscribeTarget target, TranscribeSettings s, OnResult on_result,
                                         OnError on_error, PollFn poll) {
  const std::string ch = std::to_string(target.channel);
  auto opened = d.stt.open(s.vendor, s.language);
  if (!opened.stream) {
    d.metrics.transcription_refused(opened.pool_exhausted ? "pool_exhausted" : "unavailable");
    log::warn("transcribe_refused", {{"call_id", target.call_id}, {"channel", ch}, {"error", opened.error}});
    co_await on_error(target.channel, opened.error);
    co_return;
  }
  auto stream = std::move(opened.stream);
  int factor = d.stt.sample_rate() / 8000;
  auto chan = std::make_shared<Channel>(s, factor);
  std::vector<std::string> tags{target.tag};
  AudioForkSpec spec{target.node, target.call_id, tags};
  AudioSink sink = [chan](std::size_t, std::span<const std::int16_t> pcm) { chan->frame(pcm); };
  std::shared_ptr<AudioFork> fork;
  std::string fork_error;
  try {
    fork = co_await AudioFork::start(d.ex, d.media, d.fork, spec, sink);
  } catch (const AudioForkError& e) {
    fork_error = std::string("the ") + channel_name(target.channel) + "'s audio could not be forked: " + e.what();
  }
  if (!fork) {
    d.metrics.transcription_refused("unavailable");
    log::warn("transcribe_fork_failed", {{"call_id", target.call_id}, {"channel", ch}, {"error", fork_error}});
    co_await on_error(target.channel, fork_error);
    co_return;
  }
  d.metrics.transcription_started();
  log::info("transcribe_started", {{"call_id", target.call_id}, {"channel", ch}, {"tag", target.tag}});

  std::string ended = "dial_ended";
  std::string last_partial;
  auto next_poll = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> flush_deadline;  // set once the call or dial ended

  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (!flush_deadline && now >= next_poll) {
      next_poll = now + s.poll_interval;
      auto p = co_await poll();
      if (!p.wanted || !fork->running()) {
        if (!fork->running()) log::warn("transcribe_fork_ended", {{"call_id", target.call_id}, {"why", fork->end_reason()}});
        co_await fork->stop();
        chan->flush();
        flush_deadline = std::chrono::steady_clock::now() + s.flush_budget;
      } else if (p.paused != chan->paused) {
        chan->paused = p.paused;
        if (p.paused) chan->flush();  // the audio before the pause gets its final
        log::info(p.paused ? "transcribe_paused" : "transcribe_resumed", {{"call_id", target.call_id}, {"channel", ch}});
      }
    }
    if (chan->dropped > chan->reported_dropped) {
      d.metrics.stt_audio_dropped(chan->dropped - chan->reported_dropped);
      log::warn("transcribe_audio_dropped", {{"call_id", target.call_id}, {"channel", ch},
                                             {"frames", std::to_string(chan->dropped - chan->reported_dropped)}});
      chan->reported_dropped = chan->dropped;
    }
    auto cmd = chan->next(flush_deadline.has_value());
    if (!cmd) {
      if (flush_deadline) break;  // everything flushed
      asio::steady_timer t(d.ex, kIdle);
      co_await t.async_wait(asio::use_awaitable);
      continue;
    }
    auto timeout = s.decode_timeout;
    if (flush_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*flush_deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        log::warn("transcribe_flush_late", {{"call_id", target.call_id}, {"channel", ch}});
        break;
      }
      timeout = left;
    }
    Step step;
    try {
      if (cmd->end) {
        step.h = co_await stream->end_utterance(timeout);
      } else {
        step.h = co_await stream->feed(std::move(cmd->pcm16k), timeout);
      }
    } catch (const io::WorkerTimeout& e) {
      step.failure = std::string("the speech recognizer did not answer in time: ") + e.what();
    } catch (const io::WorkerBusy& e) {
      step.failure = std::string("the speech recognizer is stopping: ") + e.what();
    }
    if (step.failure.empty() && !step.h.error.empty()) step.failure = step.h.error;
    if (!step.failure.empty()) {
      ended = "engine_error";
      log::warn("transcribe_engine_error", {{"call_id", target.call_id}, {"channel", ch}, {"error", step.failure}});
      if (!flush_deadline) {
        co_await on_error(target.channel, step.failure);
        co_await fork->stop();
      }
      break;
    }
    core::stt::Result r;
    r.channel = target.channel;
    if (cmd->end) {
      last_partial.clear();
      if (step.h.text.empty()) continue;
      r.is_final = true;
      r.transcript = std::move(step.h.text);
      r.confidence = step.h.confidence;
    } else {
      if (!s.interim || step.h.text.empty() || step.h.text == last_partial) continue;
      last_partial = step.h.text;
      r.transcript = step.h.text;
    }
    d.metrics.stt_result(r.is_final);
    log::info("transcribe_result", {{"call_id", target.call_id}, {"channel", ch},
                                    {"final", r.is_final ? "true" : "false"},
                                    {"chars", std::to_string(r.transcript.size())}});  // no transcript in logs
    co_await on_result(r);
  }
  d.metrics.transcription_ended(ended);
  log::info("transcribe_ended", {{"call_id", target.call_id}, {"channel", ch}, {"reason", ended}});
}

}  // namespace dp::app
