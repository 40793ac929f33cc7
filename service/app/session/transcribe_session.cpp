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

// One channel's run, in steps small enough to read: start (decoder, fork), the poll of the call's state, one
// decode step, the delivery of its result.
class TranscribeRun::Runner {
 public:
  Runner(Deps d, TranscribeTarget t, TranscribeSettings s, OnResult r, OnError e, PollFn p)
      : d_(std::move(d)), t_(std::move(t)), s_(std::move(s)), on_result_(std::move(r)), on_error_(std::move(e)),
        poll_(std::move(p)), ch_(std::to_string(t_.channel)) {}

  asio::awaitable<void> run() {
    bool ok = co_await start();
    if (!ok) co_return;
    for (;;) {
      co_await check_state();
      report_drops();
      auto cmd = chan_->next(flush_deadline_.has_value());
      if (!cmd) {
        if (flush_deadline_) break;  // everything flushed
        asio::steady_timer t(d_.ex, kIdle);
        co_await t.async_wait(asio::use_awaitable);
        continue;
      }
      auto step = co_await decode(*cmd);
      if (!step) break;
      co_await deliver(*cmd, *step);
    }
    d_.metrics.transcription_ended(ended_);
    log::info("transcribe_ended", {{"call_id", t_.call_id}, {"channel", ch_}, {"reason", ended_}});
  }

 private:
  // A decoder, then the fork. False (and the error event sent) when either is refused.
  asio::awaitable<bool> start() {
    auto opened = d_.stt.open(s_.vendor, s_.language);
    if (!opened.stream) {
      d_.metrics.transcription_refused(opened.pool_exhausted ? "pool_exhausted" : "unavailable");
      log::warn("transcribe_refused", {{"call_id", t_.call_id}, {"channel", ch_}, {"error", opened.error}});
      co_await on_error_(t_.channel, opened.error);
      co_return false;
    }
    stream_ = std::move(opened.stream);
    chan_ = std::make_shared<Channel>(s_, d_.stt.sample_rate() / 8000);
    std::vector<std::string> tags{t_.tag};
    AudioForkSpec spec{t_.node, t_.call_id, tags};
    auto chan = chan_;
    AudioSink sink = [chan](std::size_t, std::span<const std::int16_t> pcm) { chan->frame(pcm); };
    std::string fork_error;
    try {
      fork_ = co_await AudioFork::start(d_.ex, d_.media, d_.fork, spec, sink);
    } catch (const AudioForkError& e) {
      fork_error = std::string("the ") + channel_name(t_.channel) + "'s audio could not be forked: " + e.what();
    }
    if (!fork_) {
      d_.metrics.transcription_refused("unavailable");
      log::warn("transcribe_fork_failed", {{"call_id", t_.call_id}, {"channel", ch_}, {"error", fork_error}});
      co_await on_error_(t_.channel, fork_error);
      co_return false;
    }
    d_.metrics.transcription_started();
    log::info("transcribe_started", {{"call_id", t_.call_id}, {"channel", ch_}, {"tag", t_.tag}});
    co_return true;
  }

  // Every poll_interval: the call or dial ended (stop the fork, flush), or a pause/resume.
  asio::awaitable<void> check_state() {
    auto now = std::chrono::steady_clock::now();
    if (flush_deadline_ || now < next_poll_) co_return;
    next_poll_ = now + s_.poll_interval;
    auto p = co_await poll_();
    bool running = fork_->running();
    if (!p.wanted || !running) {
      if (!running) log::warn("transcribe_fork_ended", {{"call_id", t_.call_id}, {"why", fork_->end_reason()}});
      co_await fork_->stop();
      chan_->flush();
      flush_deadline_ = std::chrono::steady_clock::now() + s_.flush_budget;
    } else if (p.paused != chan_->paused) {
      chan_->paused = p.paused;
      if (p.paused) chan_->flush();  // the audio before the pause gets its final
      log::info(p.paused ? "transcribe_paused" : "transcribe_resumed", {{"call_id", t_.call_id}, {"channel", ch_}});
    }
  }

  void report_drops() {
    if (chan_->dropped <= chan_->reported_dropped) return;
    auto n = chan_->dropped - chan_->reported_dropped;
    d_.metrics.stt_audio_dropped(n);
    log::warn("transcribe_audio_dropped", {{"call_id", t_.call_id}, {"channel", ch_}, {"frames", std::to_string(n)}});
    chan_->reported_dropped = chan_->dropped;
  }

  // One decode step; nullopt ends the run (the flush deadline passed, or the engine failed: the error event is
  // sent while the call is on).
  asio::awaitable<std::optional<Step>> decode(Cmd& cmd) {
    auto timeout = s_.decode_timeout;
    if (flush_deadline_) {
      timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*flush_deadline_ - std::chrono::steady_clock::now());
      if (timeout.count() <= 0) {
        log::warn("transcribe_flush_late", {{"call_id", t_.call_id}, {"channel", ch_}});
        co_return std::nullopt;
      }
    }
    Step step;
    try {
      if (cmd.end) {
        step.h = co_await stream_->end_utterance(timeout);
      } else {
        step.h = co_await stream_->feed(std::move(cmd.pcm16k), timeout);
      }
    } catch (const io::WorkerTimeout& e) {
      step.failure = std::string("the speech recognizer did not answer in time: ") + e.what();
    } catch (const io::WorkerBusy& e) {
      step.failure = std::string("the speech recognizer is stopping: ") + e.what();
    }
    if (step.failure.empty() && !step.h.error.empty()) step.failure = step.h.error;
    if (step.failure.empty()) co_return step;
    ended_ = "engine_error";
    log::warn("transcribe_engine_error", {{"call_id", t_.call_id}, {"channel", ch_}, {"error", step.failure}});
    if (!flush_deadline_) {
      co_await on_error_(t_.channel, step.failure);
      co_await fork_->stop();
    }
    co_return std::nullopt;
  }

  // A final (non-empty) after an end, an interim (asked for, changed) after a feed.
  asio::awaitable<void> deliver(const Cmd& cmd, Step& step) {
    core::stt::Result r;
    r.channel = t_.channel;
    if (cmd.end) {
      last_partial_.clear();
      if (step.h.text.empty()) co_return;
      r.is_final = true;
      r.transcript = std::move(step.h.text);
      r.confidence = step.h.confidence;
    } else {
      if (!s_.interim || step.h.text.empty() || step.h.text == last_partial_) co_return;
      last_partial_ = step.h.text;
      r.transcript = step.h.text;
    }
    d_.metrics.stt_result(r.is_final);
    log::info("transcribe_result", {{"call_id", t_.call_id}, {"channel", ch_}, {"final", r.is_final ? "true" : "false"},
                                    {"chars", std::to_string(r.transcript.size())}});  // no transcript in logs
    co_await on_result_(r);
  }

  Deps d_;
  TranscribeTarget t_;
  TranscribeSettings s_;
  OnResult on_result_;
  OnError on_error_;
  PollFn poll_;
  std::string ch_;
  std::unique_ptr<SpeechStreamPort> stream_;
  std::shared_ptr<Channel> chan_;
  std::shared_ptr<AudioFork> fork_;
  std::string ended_ = "dial_ended";
  std::string last_partial_;
  std::chrono::steady_clock::time_point next_poll_{};
  std::optional<std::chrono::steady_clock::time_point> flush_deadline_;  // set once the call or dial ended
};

asio::awaitable<void> TranscribeRun::run(Deps d, TranscribeTarget target, TranscribeSettings s, OnResult on_result,
                                         OnError on_error, PollFn poll) {
  Runner r(std::move(d), std::move(target), std::move(s), std::move(on_result), std::move(on_error), std::move(poll));
  co_await r.run();
}

}  // namespace dp::app
