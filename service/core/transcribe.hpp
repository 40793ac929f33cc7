// The dial verb's nested `transcribe` (jambonz-dial §2.15), pure: its options parsed once from the verb, the
// engine choice (vendor and language), the utterance segmentation of a channel's 20 ms frames, and the
// transcriptionHook payloads. The shell (app/session/transcribe_session) forks the audio, runs the VAD and the
// recognizer, and sends what these functions build.
#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core::stt {

// The embedded engine: recognizer.vendor absent, "default" or "pocketsphinx" (any case). Its results carry
// speech.vendor.name = "pocketsphinx".
constexpr std::string_view kEmbeddedEngine = "pocketsphinx";
constexpr std::string_view kDefaultLanguage = "en-US";

// Channel tags (jambonz): 1 = the caller (A leg), 2 = the callee (the answered B leg).
constexpr int kCaller = 1;
constexpr int kCallee = 2;

struct Options {
  boost::json::value hook;    // transcriptionHook as given (null: none; results are then only logged)
  std::vector<int> channels;  // channel tags to transcribe, in order
  std::string vendor;         // recognizer.vendor as given ("" when absent)
  std::string language = std::string(kDefaultLanguage);
  bool interim = false;  // recognizer.interim: partial results too
};

// The dial verb's `transcribe`, or nullopt when it has none (or it is not an object). Defaults (jambonz): both
// legs separately; `transcribe.channel: 1|2` → that leg only; `recognizer.separateRecognitionPerChannel: false`
// → the caller only. Mistyped fields keep their default.
std::optional<Options> options_from_dial(const boost::json::object& dial_verb);

// Why the embedded engine will not transcribe with these settings ("" when it will): a cloud vendor that is not
// configured on this platform, or a language other than en-US.
std::string refusal(std::string_view vendor, std::string_view language);
bool is_embedded_vendor(std::string_view vendor);

// ---------------------------------------------------------------- segmentation

constexpr int kFrameMs = 20;
constexpr std::size_t kFrameSamples = 160;  // 20 ms at 8 kHz

struct SegmenterParams {
  int preroll_frames = 15;          // audio kept before the first voiced frame (300 ms): word onsets
  int start_voice_frames = 3;       // voiced frames among the last `start_window` that start an utterance
  int start_window = 5;
  int end_silence_frames = 40;      // 800 ms without voice ends an utterance (its final)
  int max_utterance_frames = 750;   // 15 s: an utterance is cut into finals at most this long
};

// Decides, frame by frame, which audio goes to the recognizer and where an utterance ends. Time is the count of
// frames pushed. Silence outside utterances is not decoded (a recognizer costs CPU per second of audio fed).
class Segmenter {
 public:
  enum class End { None, Silence, MaxLength, Flush };
  struct Step {
    std::vector<std::int16_t> audio;  // 8 kHz samples to feed (pre-roll included when an utterance starts)
    bool started = false;             // an utterance began with this step
    End end = End::None;              // the utterance ended after `audio`: ask for its final
  };

  explicit Segmenter(SegmenterParams p = {}) : p_(p) {}
  // One 20 ms frame and the VAD's verdict for it. Frames of another length are ignored.
  Step push(std::span<const std::int16_t> frame, bool voice);
  // Ends the current utterance now (pause, the dial ending): End::Flush when one was open, else nothing.
  Step flush();
  bool in_utterance() const { return in_utt_; }

 private:
  SegmenterParams p_;
  bool in_utt_ = false;
  int silence_run_ = 0;
  int utt_frames_ = 0;
  std::deque<std::vector<std::int16_t>> preroll_;
  std::deque<bool> recent_;  // the VAD's last verdicts while outside an utterance
};
std::string_view to_string(Segmenter::End e);

// ---------------------------------------------------------------- payloads

struct Result {
  int channel = kCaller;
  bool is_final = false;
  std::string transcript;
  double confidence = 0;  // 0..1
};

// The transcriptionHook body of a result: `parent` (core::parent_payload of the call) plus jambonz's
// speech {language_code, channel_tag, is_final, alternatives:[{transcript, confidence}], vendor:{name, evt}}.
boost::json::object result_payload(boost::json::object parent, const Result& r, std::string_view language);
// The body of an error (no decoder free, vendor or language unavailable, the audio could not be forked):
// `parent` plus speech_event {type: "error", error, channel_tag, vendor, language_code}. It has no `speech`, so
// an app reading speech.alternatives never mistakes it for an empty result.
boost::json::object error_payload(boost::json::object parent, int channel, std::string_view error,
                                  std::string_view vendor, std::string_view language);

}  // namespace dp::core::stt
