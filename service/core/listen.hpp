// The dial verb's nested `listen` (alias `stream`), pure (jambonz-dial §2.14, docs/media.md "Listen"): the verb's
// options parsed once, the websocket URL, the metadata text frame, the 20 ms audio frames (party alignment, mono /
// stereo / mixed, upsampling, L16 little-endian), the server's text frames parsed into typed messages, the
// playAudio queue, and the listen's decisions (listen_status, passDtmf, finishOnKey, maxLength). The session that
// does the I/O is app/session/listen_session.
#pragma once
#include "core/call_model.hpp"
#include "core/provisioning.hpp"
#include "core/resample.hpp"

#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dp::core::listen {

constexpr int kFrameMs = 20;
constexpr std::size_t kFrameSamples8k = 160;  // one 20 ms frame at 8 kHz

enum class Mix { Mono, Stereo, Mixed };
std::string_view to_string(Mix m);  // mono|stereo|mixed

struct Params {
  std::string url;                  // as given (absolute ws(s):// or relative to the app's base URL)
  std::string ws_user, ws_password;  // wsAuth → HTTP Basic on the handshake ("" = none)
  Mix mix = Mix::Mono;
  int sample_rate = 8000;  // 8000|16000|24000|48000|64000
  int channel = 1;         // 1: the caller is the listened party; 2: the callee
  bool pass_dtmf = false;
  std::string finish_on_key;  // keys that end the listen ("" = none)
  int max_length_s = 0;       // 0 = unlimited
  bool play_beep = false;
  bool bidirectional = true;           // playAudio/killAudio accepted (disableBidirectionalAudio turns it off)
  boost::json::object metadata;        // merged last into the metadata frame
  boost::json::value action_hook;      // the listen's own actionHook (null = none)
};

struct ParsedParams {
  std::optional<Params> params;
  std::string error;  // when params is empty
};
// The dial's `listen` (or `stream`) object, already validated against jambonz's schema. Refuses what dialplane
// cannot do: a sample rate that is not 8000 × {1,2,3,6,8}, a channel other than 1 or 2, no url.
ParsedParams parse_params(const boost::json::value& v);
// The dial's `listen`, or jambonz's alias `stream`, parsed; nullopt when the dial asks for neither.
std::optional<ParsedParams> from_dial(const boost::json::object& dial_verb);

// The websocket URL: ws:// and wss:// as given; a relative URL ("/ws") is taken to the call_hook's origin with
// http → ws and https → wss. nullopt when neither works.
std::optional<std::string> resolve_ws_url(const std::string& url, const std::string& call_hook_url);

// snake_case → camelCase ("parent_call_sid" → "parentCallSid"); keys without '_' are kept.
std::string camel_case(std::string_view key);

// The first text frame: the child leg's call info (core::child_payload) in camelCase, sampleRate, mixType, then
// the app's metadata merged last (it may override any key).
boost::json::object metadata_frame(const CallState& c, const Leg& leg, const Params& p, double now);

// ---- audio ----

// Aligns the two parties' 20 ms frames (stream 0 = the listened party, 1 = the other; the fork delivers them
// independently). A pair goes out as soon as both parties have a frame; a party that is more than `max_lag`
// frames ahead of the other is sent with silence for the missing side (a lost or late packet of one party, or a
// party that does not send at all), so memory stays bounded and the delay is at most max_lag × 20 ms. With one
// stream (mono), every frame goes out at once.
class Aligner {
 public:
  explicit Aligner(std::size_t streams, std::size_t max_lag = 3);
  // Adds one frame (kFrameSamples8k samples; shorter is padded with zeros, longer is cut).
  void push(std::size_t stream, std::span<const std::int16_t> pcm);
  // The next aligned frame: for each stream kFrameSamples8k samples (zeros for a missing side). False when none.
  bool pop(std::vector<std::int16_t>& a, std::vector<std::int16_t>& b);
  std::size_t filled_with_silence() const { return silence_; }

 private:
  std::size_t streams_, max_lag_;
  std::deque<std::vector<std::int16_t>> q_[2];
  std::size_t silence_ = 0;
};

// One binary frame: 20 ms of 16-bit little-endian PCM at the sample rate (mono/mixed: 1 channel; stereo:
// interleaved left = the listened party, right = the other). `mixed` sums with saturation. Keeps the upsamplers'
// state across frames. `silence` sends zeros of the same size (listen_status silence).
class Encoder {
 public:
  Encoder(Mix mix, int sample_rate);
  std::string encode(std::span<const std::int16_t> listened, std::span<const std::int16_t> other, bool silence);
  std::size_t frame_bytes() const;  // the size of every frame it returns
  std::size_t streams() const { return mix_ == Mix::Mono ? 1 : 2; }

 private:
  Mix mix_;
  int factor_;
  Upsampler left_, right_;
  std::vector<std::int16_t> up_l_, up_r_, mixed_;
};

// What waits for the websocket: text frames first (metadata, dtmf events, playDone), then audio. At most
// `max_audio` audio frames (50 = 1 s) wait; a new one over it pushes the oldest out (counted), so a slow server
// costs bounded memory and hears the most recent audio. Text frames over `max_text` are dropped.
class SendQueue {
 public:
  explicit SendQueue(std::size_t max_audio = 50, std::size_t max_text = 256) : max_audio_(max_audio), max_text_(max_text) {}
  bool push_audio(std::string frame);  // false when the oldest frame was dropped to make room
  bool push_text(std::string text);    // false when dropped (the text queue is full)
  bool pop(std::string& out, bool& text);
  bool empty() const { return audio_.empty() && text_.empty(); }
  std::size_t audio_size() const { return audio_.size(); }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::size_t max_audio_, max_text_;
  std::deque<std::string> audio_, text_;
  std::uint64_t dropped_ = 0;
};

// ---- the server's text frames ----

struct PlayAudio {
  enum class Content { Raw, Wav };
  Content content = Content::Raw;
  int sample_rate = 8000;      // raw: the rate of the L16 samples
  std::string audio;           // decoded bytes (raw L16 LE, or a whole WAV file)
  boost::json::value id;       // echoed in playDone (null when absent)
  bool queue_play = false;
};
struct KillAudio {};
struct Disconnect {};
struct Ignored {  // a type jambonz knows that dialplane does not act on (transcription, transfer, error, json)
  std::string type;
};
struct Invalid {
  std::string reason;
};
using ServerMessage = std::variant<PlayAudio, KillAudio, Disconnect, Ignored, Invalid>;

constexpr std::size_t kMaxTextFrame = 4 * 1024 * 1024;  // the websocket's read limit (a few seconds of audio)
constexpr std::size_t kMaxPlayBytes = 2 * 1024 * 1024;  // decoded playAudio content
ServerMessage parse_server_message(std::string_view text);

// A WAV file (PCM 16-bit mono) of raw L16 little-endian samples, for rtpengine's `play media`.
std::string wav_of_l16(std::string_view l16, int sample_rate);
// The beep of playBeep: 1500 Hz, 500 ms, 8 kHz 16-bit WAV.
std::string beep_wav();

// RFC 4648 base64 (padding optional, no whitespace inside); nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view in);

// ---- the queue of playAudio items ----

// jambonz: queuePlay appends (at most kMaxQueued waiting), otherwise the queue is flushed and the item plays at
// once. `play` tells the shell what to do; `done` is called when the current item finished (or failed).
class PlayQueue {
 public:
  static constexpr std::size_t kMaxQueued = 10;
  struct Step {
    bool stop_current = false;          // stop what plays now (rtpengine stop media) — no playDone for it
    std::optional<PlayAudio> start;     // play this now
    bool refused = false;               // the queue is full: the item is dropped
    std::vector<boost::json::value> dropped_ids;  // items flushed from the queue (never played)
  };
  Step play(PlayAudio item);
  // The current item ended: the next one to play, if any.
  std::optional<PlayAudio> done();
  // killAudio: stop the current item and forget the queue.
  Step kill();
  bool playing() const { return playing_; }
  std::size_t queued() const { return q_.size(); }

 private:
  bool playing_ = false;
  std::deque<PlayAudio> q_;
};

// ---- the listen's decisions ----

enum class Status { Streaming, Paused, Silence };
// Closed: the server closed the websocket or it failed (a write timeout included); ForkFailed: rtpengine refused the
// audio fork; Shutdown: the service stopped.
enum class EndReason { Disconnect, MaxLength, FinishOnKey, ConnectFailed, ForkFailed, Closed, CallEnded, Shutdown };
// disconnect|max_length|finish_on_key|connect_failed|fork_failed|closed|call_ended|shutdown
std::string_view to_string(EndReason r);

class Machine {
 public:
  explicit Machine(const Params& p) : p_(p) {}
  // REST listen_status: pause (no frames), silence (frames of zeros), resume. False for another value.
  bool set_status(std::string_view s);
  Status status() const { return status_; }
  bool send_frames() const { return status_ != Status::Paused; }
  bool silence() const { return status_ == Status::Silence; }

  struct DtmfOutcome {
    std::optional<boost::json::object> event;  // passDtmf: the text frame to send
    bool finish = false;                        // finishOnKey matched
  };
  // A key pressed by the listened party (jambonz listens on that endpoint only). finishOnKey: the listen ends and
  // digits() is that key (jambonz's results.digits).
  DtmfOutcome dtmf(char key, int duration_ms);
  const std::string& digits() const { return digits_; }
  // maxLength: whether the listen must end after `streamed_ms` of streaming.
  bool over_max_length(long long streamed_ms) const {
    return p_.max_length_s > 0 && streamed_ms >= static_cast<long long>(p_.max_length_s) * 1000;
  }

 private:
  const Params& p_;
  Status status_ = Status::Streaming;
  std::string digits_;
};

// The listen's actionHook: the parent call's info plus dial_call_duration (seconds streamed) and digits.
boost::json::object action_payload(const CallState& c, long long streamed_ms, const std::string& digits, double now);

}  // namespace dp::core::listen
