#include "core/amd_detector.hpp"

#include "core/json_get.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <utility>

namespace dp::core::amd {
namespace {

// ---- params ------------------------------------------------------------------------------------------------

// A JSON number (or numeric string) as an int in [lo, hi]; `dflt` when absent or not a number.
int clamped_int(const boost::json::object& o, std::string_view key, int dflt, int lo, int hi) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return dflt;
  double d = 0;
  if (v->is_int64()) {
    d = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    d = static_cast<double>(v->get_uint64());
  } else if (v->is_double()) {
    d = v->get_double();
  } else if (v->is_string()) {
    char* end = nullptr;
    const std::string s(v->get_string());
    d = std::strtod(s.c_str(), &end);
    if (s.empty() || end == nullptr || *end != '\0') return dflt;
  } else {
    return dflt;
  }
  if (std::isnan(d)) return dflt;
  return static_cast<int>(std::clamp(d, static_cast<double>(lo), static_cast<double>(hi)));
}

const boost::json::object* child(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

constexpr int kMinTimerMs = 100;
constexpr int kMaxTimerMs = 600000;

// ---- Goertzel bank -----------------------------------------------------------------------------------------

// Filters every 20 Hz from 400 to 2100 Hz: a 160-sample frame's main lobe is 50 Hz wide, so a tone between two
// filters still keeps ~88 % of its power in the nearer one.
constexpr int kBankLowHz = 400;
constexpr int kBankStepHz = 20;
constexpr int kBankSize = (2100 - kBankLowHz) / kBankStepHz + 1;
constexpr double kSampleRate = 8000;

struct Bank {
  std::array<double, kBankSize> coeff{};
  Bank() {
    for (int i = 0; i < kBankSize; ++i) {
      const double w = 2 * std::numbers::pi * (kBankLowHz + i * kBankStepHz) / kSampleRate;
      coeff[static_cast<std::size_t>(i)] = 2 * std::cos(w);
    }
  }
};

const Bank& bank() {
  static const Bank b;
  return b;
}

double goertzel_power(std::span<const std::int16_t> pcm, double coeff) {
  double s1 = 0;
  double s2 = 0;
  for (auto x : pcm) {
    const double s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

// The strongest frequency within half a bank step of `centre`, in 2 Hz steps, and its power: the bank's
// coarse peak refined, so that an off-filter tone reports its own frequency and full power.
std::pair<double, double> refine_peak(std::span<const std::int16_t> pcm, double centre) {
  std::pair<double, double> best{centre, 0};
  for (double hz = centre - kBankStepHz / 2.0; hz <= centre + kBankStepHz / 2.0; hz += 2) {
    const double pw = goertzel_power(pcm, 2 * std::cos(2 * std::numbers::pi * hz / kSampleRate));
    if (pw > best.second) best = {hz, pw};
  }
  return best;
}

}  // namespace

Params params_from_json(const boost::json::object& amd) {
  Params p;
  p.threshold_word_count = clamped_int(amd, "thresholdWordCount", p.threshold_word_count, 1, 100);
  p.digit_count = clamped_int(amd, "digitCount", p.digit_count, 0, 50);
  if (const auto* t = child(amd, "timers")) {
    p.no_speech_timeout_ms = clamped_int(*t, "noSpeechTimeoutMs", p.no_speech_timeout_ms, kMinTimerMs, kMaxTimerMs);
    p.decision_timeout_ms = clamped_int(*t, "decisionTimeoutMs", p.decision_timeout_ms, kMinTimerMs, kMaxTimerMs);
    p.tone_timeout_ms = clamped_int(*t, "toneTimeoutMs", p.tone_timeout_ms, kMinTimerMs, kMaxTimerMs);
    p.greeting_completion_timeout_ms =
        clamped_int(*t, "greetingCompletionTimeoutMs", p.greeting_completion_timeout_ms, kMinTimerMs, kMaxTimerMs);
  }
  if (const auto* r = child(amd, "recognizer")) {
    const auto* lang = r->if_contains("language");
    if (lang != nullptr && lang->is_string() && !lang->get_string().empty()) p.language = lang->get_string();
  }
  return p;
}

namespace {
bool voicemail_safe_flag(const boost::json::object& amd) {
  const auto* safe = amd.if_contains("voicemailSafe");
  return safe && safe->is_bool() && safe->get_bool();
}
}  // namespace

std::optional<DialAmd> from_dial(const boost::json::object& dial_verb) {
  const auto* found = child(dial_verb, "amd");
  if (!found) return std::nullopt;
  const auto& amd = *found;
  DialAmd out;
  out.params = params_from_json(amd);
  if (const auto* h = amd.if_contains("actionHook")) out.action_hook = *h;
  out.disconnect = jget::boolean(amd, "disconnectOnAmd") || jget::boolean(amd, "disconnectOnAMD");
  out.voicemail_safe = voicemail_safe_flag(amd);
  return out;
}

bool voicemail_safe_of(const boost::json::object& dial_verb) {
  const auto* amd = child(dial_verb, "amd");
  return amd && voicemail_safe_flag(*amd);
}

std::optional<double> tonal_frequency(std::span<const std::int16_t> pcm, double min_purity, double min_rms) {
  if (pcm.empty()) return std::nullopt;
  double energy = 0;
  for (auto x : pcm) energy += static_cast<double>(x) * x;
  const auto n = static_cast<double>(pcm.size());
  if (std::sqrt(energy / n) < min_rms) return std::nullopt;
  std::array<double, kBankSize> power{};
  for (std::size_t i = 0; i < power.size(); ++i) power[i] = goertzel_power(pcm, bank().coeff[i]);
  const auto best = static_cast<std::size_t>(std::max_element(power.begin(), power.end()) - power.begin());
  const auto [hz, peak] = refine_peak(pcm, kBankLowHz + static_cast<double>(best) * kBankStepHz);
  // A sinusoid of amplitude A has energy A²N/2 and a Goertzel power of (AN/2)² at its frequency, so this
  // ratio is ~1 for a pure tone and small for speech or noise, whose energy is spread.
  const double purity = 2 * peak / (n * energy);
  if (purity < min_purity) return std::nullopt;
  return hz;
}

// ---- BeepTracker -------------------------------------------------------------------------------------------

BeepTracker::BeepTracker(const Params& p)
    : min_purity_(p.beep_min_purity),
      min_rms_(p.beep_min_rms),
      min_frames_(std::max(1, (p.beep_min_ms + kFrameMs - 1) / kFrameMs)),
      max_drift_(p.beep_max_drift_hz) {}

void BeepTracker::reset() {
  run_ = 0;
  sum_ = 0;
  sum_sq_ = 0;
}

std::optional<BeepTracker::Tone> BeepTracker::push(std::span<const std::int16_t> pcm) {
  const auto f = tonal_frequency(pcm, min_purity_, min_rms_);
  if (!f) {
    reset();
    return std::nullopt;
  }
  // A frame far from the run's mean starts a new run: speech's harmonics glide, a beep holds its pitch.
  if (run_ > 0 && std::abs(*f - sum_ / run_) > max_drift_) reset();
  ++run_;
  sum_ += *f;
  sum_sq_ += *f * *f;
  if (run_ != min_frames_) return std::nullopt;
  const double mean = sum_ / run_;
  const double var = std::max(0.0, sum_sq_ / run_ - mean * mean);
  return Tone{static_cast<int>(std::lround(mean)), static_cast<int>(std::lround(var))};
}

// ---- Detector ----------------------------------------------------------------------------------------------

Detector::Detector(Params p)
    : p_(std::move(p)),
      beep_(p_),
      segment_threshold_(std::max(2, (p_.threshold_word_count + p_.words_per_segment - 1) /
                                         std::max(1, p_.words_per_segment))) {}

int Detector::frames(int ms) const { return std::max(1, (ms + kFrameMs - 1) / kFrameMs); }

std::vector<Event> Detector::push(std::span<const std::int16_t> pcm, bool voice) {
  std::vector<Event> out;
  if (stopped_) return out;
  ++frame_;
  track_voice(voice);
  // The beep filter runs until a beep was heard (jambonz stops avmd after its first beep).
  std::optional<BeepTracker::Tone> tone;
  if (!tone_heard_) tone = beep_.push(pcm);
  if (phase_ == Phase::Listening) {
    listen(out, tone);
  } else {
    after_machine(out, tone);
  }
  if (!stopped_) check_timers(out);
  return out;
}

std::vector<Event> Detector::stop() {
  std::vector<Event> out;
  if (!stopped_) finish(out);
  return out;
}

// Words are voice runs of at least min_word_ms; gaps shorter than between_words_ms stay inside the word.
void Detector::track_voice(bool voice) {
  if (!voice) {
    ++silence_run_;
    if (silence_run_ >= frames(p_.between_words_ms)) {
      in_word_ = false;
      voice_run_ = 0;
    }
    return;
  }
  if (voice_run_ == 0) run_start_ = frame_;
  ++voice_run_;
  silence_run_ = 0;
  last_voice_ = frame_;
  if (in_word_ || voice_run_ < frames(p_.min_word_ms)) return;
  in_word_ = true;
  ++words_;
  if (greeting_start_ < 0) greeting_start_ = run_start_;
}

void Detector::listen(std::vector<Event>& out, const std::optional<BeepTracker::Tone>& tone) {
  if (tone) {
    // A beep before any decision: only machines beep. jambonz has no reason for it; "long greeting" keeps its
    // vocabulary (the greeting did end in a beep).
    decide(out, true);
    emit_tone(out, *tone);
    return;
  }
  if (words_ == 0) return;
  const int greeting_frames = last_voice_ - greeting_start_ + 1;
  if (words_ >= segment_threshold_ || greeting_frames > frames(p_.max_greeting_ms)) {
    decide(out, true);
  } else if (silence_run_ >= frames(p_.after_greeting_silence_ms)) {
    decide(out, false);
  }
}

void Detector::after_machine(std::vector<Event>& out, const std::optional<BeepTracker::Tone>& tone) {
  if (tone) emit_tone(out, *tone);
  const int wait_ms = tone_heard_ ? p_.beep_after_tone_completion_ms : p_.greeting_completion_timeout_ms;
  if (silence_run_ >= frames(wait_ms)) {
    emit(out, "amd_machine_stopped_speaking");
    finish(out);
  }
}

void Detector::check_timers(std::vector<Event>& out) {
  const int t = now_ms();
  if (phase_ == Phase::Listening && words_ == 0 && t >= p_.no_speech_timeout_ms) {
    emit(out, "amd_no_speech_detected");
    finish(out);
  } else if (phase_ == Phase::Listening && t >= p_.decision_timeout_ms) {
    emit(out, "amd_decision_timeout");
    finish(out);
  } else if (t >= p_.tone_timeout_ms) {
    // jambonz's tone timeout stops AMD without an event of its own (amd_tone_timeout is never delivered).
    finish(out);
  }
}

void Detector::decide(std::vector<Event>& out, bool machine) {
  boost::json::object f;
  f["reason"] = machine ? "long greeting" : "short greeting";
  f["greeting"] = "";  // no transcript without speech-to-text
  f["language"] = p_.language;
  emit(out, machine ? "amd_machine_detected" : "amd_human_detected", std::move(f));
  if (machine) {
    phase_ = Phase::Machine;
  } else {
    finish(out);
  }
}

void Detector::emit(std::vector<Event>& out, std::string type, boost::json::object fields) {
  out.push_back(Event{std::move(type), std::move(fields), now_ms()});
}

void Detector::emit_tone(std::vector<Event>& out, const BeepTracker::Tone& t) {
  tone_heard_ = true;
  boost::json::object f;
  f["frequency"] = t.frequency;
  f["variance"] = t.variance;
  emit(out, "amd_tone_detected", std::move(f));
}

void Detector::finish(std::vector<Event>& out) {
  emit(out, "amd_stopped");
  stopped_ = true;
}

}  // namespace dp::core::amd
