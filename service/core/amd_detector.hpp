// Embedded answering-machine detection (jambonz's `amd` on a dial) without speech-to-text: a voice/silence
// state machine over a VAD's per-frame verdicts (the idea of Asterisk's app_amd, reimplemented) plus a
// Goertzel filter bank for the voicemail beep. Pure: no I/O, no clock; time is the number of 20 ms frames
// pushed since the answer. See docs/amd.md for the event contract and the measured accuracy.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dp::core::amd {

inline constexpr int kFrameMs = 20;
inline constexpr int kFrameSamples = 160;  // 20 ms at 8 kHz

struct Params {
  // jambonz's `amd` fields and defaults.
  int threshold_word_count = 9;
  int digit_count = 0;  // parsed and kept; without a transcript there are no digits to count (docs/amd.md)
  int no_speech_timeout_ms = 5000;
  int decision_timeout_ms = 15000;
  int tone_timeout_ms = 20000;
  int greeting_completion_timeout_ms = 2000;
  std::string language = "en-US";

  // Tuning knobs (not in jambonz's JSON; tuned on the corpus's `tune` split, scripts/amd-corpus).
  // Mode for the caller's VAD (io::WebrtcVad): 3 (least voice) did as well as 2 on clean lines and better on
  // noisy ones (-35...-25 dBFS white noise) of the tune split. The detector itself only sees the verdicts.
  int vad_aggressiveness = 3;
  int min_word_ms = 160;                // a voice run at least this long is a "word" (shorter: a click, a line
                                        // noise burst the VAD took for voice)
  int between_words_ms = 150;           // silence at least this long ends a word
  int after_greeting_silence_ms = 800;  // silence after a short greeting that makes it a human
  int max_greeting_ms = 2000;           // a greeting (first word start to last voice) longer than this: machine
  int words_per_segment = 3;            // STT words per voice segment: the segment threshold is
                                        // ceil(threshold_word_count / words_per_segment), at least 2
  int beep_after_tone_completion_ms = 1000;  // greeting-completion wait once a beep was heard (jambonz: 1 s)
  double beep_min_purity = 0.7;  // share of the frame's energy in the strongest bank filter
  double beep_min_rms = 200;     // quieter frames are never a beep (about -44 dBFS)
  int beep_min_ms = 160;         // a steady tone at least this long is a beep
  int beep_max_drift_hz = 40;    // frame frequencies of one beep stay this close to its mean
};

// jambonz's `amd` object: thresholdWordCount, digitCount, timers{noSpeechTimeoutMs, decisionTimeoutMs,
// toneTimeoutMs, greetingCompletionTimeoutMs}, recognizer{language}. Missing or mistyped fields keep the
// defaults; out-of-range numbers are clamped (a timer is at least 100 ms and at most 10 min).
Params params_from_json(const boost::json::object& amd);

// Everything of a dial's `amd` the call flow acts on, read once from the stored verb.
struct DialAmd {
  Params params;
  boost::json::value action_hook;  // amd.actionHook as given (null = the call's hook rules apply)
  bool disconnect = false;         // disconnectOnAmd (or disconnectOnAMD): a machine ends the call
  bool voicemail_safe = false;     // the check runs on held legs during screening, not after the bridge
};
// nullopt when the dial has no `amd` object.
std::optional<DialAmd> from_dial(const boost::json::object& dial_verb);
// The dial's amd.voicemailSafe alone (a JSON boolean; anything else, or no amd object, is false), for the
// decision's per-target check that needs no more of the amd object.
bool voicemail_safe_of(const boost::json::object& dial_verb);

// One event for amd.actionHook: type as jambonz names it, its extras snake_cased, and when (ms since answer).
struct Event {
  std::string type;
  boost::json::object fields;
  int at_ms = 0;
};

// Steady-tone tracker over 20 ms frames: a Goertzel bank 400-2100 Hz, one frame "tonal" when one filter holds
// most of its energy, a beep when tonal frames of one frequency last long enough.
class BeepTracker {
 public:
  struct Tone {
    int frequency = 0;  // Hz, mean over the tone's frames
    int variance = 0;   // Hz², of the per-frame frequency estimates
  };
  explicit BeepTracker(const Params& p);
  // Returns the beep on the frame that completes it (once per steady run).
  std::optional<Tone> push(std::span<const std::int16_t> pcm);

 private:
  void reset();
  double min_purity_;
  double min_rms_;
  int min_frames_;
  double max_drift_;
  int run_ = 0;
  double sum_ = 0;
  double sum_sq_ = 0;
};

// Frequency of the dominant bank filter of one frame, refined between filters, or nullopt when the frame is
// too quiet or not pure enough. Exposed for the tests.
std::optional<double> tonal_frequency(std::span<const std::int16_t> pcm, double min_purity, double min_rms);

class Detector {
 public:
  explicit Detector(Params p);
  // One 20 ms frame of 8 kHz 16-bit linear PCM (160 samples) and the VAD's verdict for it.
  std::vector<Event> push(std::span<const std::int16_t> pcm, bool voice);
  // Emits amd_stopped if it was not emitted yet (dial ended, leg gone).
  std::vector<Event> stop();
  // No more events will come.
  bool stopped() const { return stopped_; }

 private:
  enum class Phase { Listening, Machine };
  int frames(int ms) const;
  int now_ms() const { return frame_ * kFrameMs; }
  void track_voice(bool voice);
  void listen(std::vector<Event>& out, const std::optional<BeepTracker::Tone>& tone);
  void after_machine(std::vector<Event>& out, const std::optional<BeepTracker::Tone>& tone);
  void check_timers(std::vector<Event>& out);
  void decide(std::vector<Event>& out, bool machine);
  void emit(std::vector<Event>& out, std::string type, boost::json::object fields = {});
  void emit_tone(std::vector<Event>& out, const BeepTracker::Tone& t);
  void finish(std::vector<Event>& out);

  Params p_;
  BeepTracker beep_;
  Phase phase_ = Phase::Listening;
  bool stopped_ = false;
  bool tone_heard_ = false;
  int frame_ = 0;
  int segment_threshold_;
  // Voice bookkeeping: the current voice run (short gaps inside a word included), the silence since the last
  // voice frame, and the greeting so far.
  int voice_run_ = 0;
  int run_start_ = 0;  // frame where the current voice run began
  int silence_run_ = 0;
  bool in_word_ = false;
  int words_ = 0;
  int greeting_start_ = -1;  // frame where the first word began; -1 before any word
  int last_voice_ = -1;      // last frame with voice
};

}  // namespace dp::core::amd
