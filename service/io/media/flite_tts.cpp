#include "io/media/flite_tts.hpp"

#include <flite/flite.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <mutex>
#include <span>

#include "core/log.hpp"
#include "core/media_format.hpp"
#include "io/clock.hpp"

// Defined by libflite_cmu_us_slt; flite ships no header for its voices.
extern "C" cst_voice* register_cmu_us_slt(const char* voxdir);

namespace asio = boost::asio;

namespace dp::io {
namespace {

struct Rendered {
  std::string wav;
  std::string error;
  double seconds = 0;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// flite reports a fatal error by longjmp to cst_errjmp when it is set, by exit(-1) otherwise: a bad input must
// never end the process. Nothing with a destructor lives between setjmp and the flite call.
cst_wave* text_to_wave_guarded(const char* text, cst_voice* voice) {
  jmp_buf env;
  jmp_buf* previous = cst_errjmp;
  cst_errjmp = &env;
  cst_wave* volatile wave = nullptr;
  if (setjmp(env) == 0) wave = flite_text_to_wave(text, voice);
  cst_errjmp = previous;
  return wave;
}

// Runs on the engine's thread. flite's globals (the error jump, the voice's caches) are process-wide, so a
// second engine in the same process (tests) takes turns too.
Rendered render_with_flite(const std::string& text) {
  static std::mutex flite_mutex;
  std::lock_guard lock(flite_mutex);
  static cst_voice* const voice = [] {
    flite_init();
    return register_cmu_us_slt(nullptr);
  }();
  Rendered out;
  if (!voice) {
    out.error = "flite voice slt could not be loaded";
    return out;
  }
  const auto started = std::chrono::steady_clock::now();
  cst_wave* wave = text_to_wave_guarded(text.c_str(), voice);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!wave || wave->num_samples <= 0 || wave->num_channels != 1) {
    out.error = "flite could not render the text";
  } else {
    std::span<const int16_t> samples(wave->samples, static_cast<std::size_t>(wave->num_samples));
    out.wav = core::wav_pcm16_mono(samples, wave->sample_rate);
  }
  if (wave) delete_wave(wave);
  return out;
}

}  // namespace

FliteTts::FliteTts(MediaStore& store, TaskGroup& tasks, MediaObserver& observer, Options o)
    : store_(store), observer_(observer), opts_(std::move(o)), flights_(tasks), worker_(opts_.max_waiting) {}

double FliteTts::now() const { return opts_.clock ? opts_.clock() : wall_now(); }

std::string FliteTts::refusal(const SpeechText& req, std::size_t max_text_bytes) {
  const std::string language = lower(req.language);
  if (!language.empty() && language != "en-us" && language != "en-gb")
    return "language " + req.language.substr(0, 32) + " is not available in flite (en-US, en-GB)";
  const std::string voice = lower(req.voice);
  if (!voice.empty() && voice != "slt" && voice != "cmu_us_slt")
    return "voice " + req.voice.substr(0, 64) + " is not available in flite (slt)";
  if (std::all_of(req.text.begin(), req.text.end(), [](unsigned char c) { return std::isspace(c); }))
    return "nothing to say: the text is empty";
  if (req.text.size() > max_text_bytes)
    return "text of " + std::to_string(req.text.size()) + " bytes is longer than the limit of " +
           std::to_string(max_text_bytes);
  return {};
}

asio::awaitable<LocalMedia> FliteTts::synthesize(SpeechText req) {
  if (auto why = refusal(req, opts_.max_text_bytes); !why.empty()) {
    observer_.speech(SpeechResult::Refused, 0);
    co_return media_error(why);
  }
  const std::string key = core::tts_cache_key(kName, kVoice, req.text);
  if (auto cached = store_.find(key)) {
    store_.touch(key, now());
    observer_.speech(SpeechResult::Hit, 0);
    LocalMedia m;
    m.ok = true;
    m.path = cached->path;
    m.format = cached->meta.format;
    co_return m;
  }
  bool led = false;
  auto work = [this, text = req.text, key, &led] {
    led = true;
    return render(text, key);
  };
  Outcome abandoned{media_error("speech synthesis was abandoned"), SpeechResult::Error, 0};
  auto outcome = co_await flights_.run(key, std::move(work), abandoned);
  // Rode on another request's rendering of the same text.
  if (!led && outcome.media.ok) outcome.result = SpeechResult::Hit;
  observer_.speech(outcome.result, led ? outcome.engine_seconds : 0);
  co_return outcome.media;
}

asio::awaitable<FliteTts::Outcome> FliteTts::render(std::string text, std::string key) {
  auto job = [text] { return render_with_flite(text); };
  WorkerThread::RunOptions run_options;  // built before the co_await (docs/coroutines.md)
  run_options.cancellable = true;
  run_options.timeout = opts_.timeout;
  Rendered rendered;
  std::string failure;
  SpeechResult failure_kind = SpeechResult::Error;
  try {
    rendered = co_await worker_.run(std::move(job), run_options);
  } catch (const WorkerBusy& e) {
    failure = std::string("speech synthesis queue full (") + e.what() + ")";
    failure_kind = SpeechResult::Refused;
  } catch (const WorkerTimeout& e) {
    failure = std::string("speech synthesis timed out: ") + e.what();
  }
  if (failure.empty() && !rendered.error.empty()) failure = rendered.error;
  if (!failure.empty()) {
    log::warn("speech_failed", {{"engine", kName}, {"error", failure}, {"chars", std::to_string(text.size())}});
    co_return Outcome{media_error(failure), failure_kind, rendered.seconds};
  }
  core::CacheMeta meta;
  meta.format = "wav";
  meta.fetched_at_s = meta.checked_at_s = meta.last_used_s = now();
  auto stored = co_await store_.put(key, std::move(meta), std::move(rendered.wav));
  co_return Outcome{stored, stored.ok ? SpeechResult::Synthesized : SpeechResult::Error, rendered.seconds};
}

}  // namespace dp::io
