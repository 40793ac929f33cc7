// The dial's nested `transcribe` on one channel of a bridged call (jambonz-dial §2.15; README, docs/media.md
// "Transcribe"): a decoder is taken from the recognizer at once (or the error goes to the hook), the party's
// audio is forked out of rtpengine (app/media/audio_fork), each 20 ms frame goes through the WebRTC VAD and the
// utterance segmenter (core/transcribe), the speech is raised to 16 kHz (core/resample) and decoded on the
// decoder's own thread; partials (when asked for) and finals go to `on_result` in order.
//
// The run polls `poll()` (the call's state) every `poll_interval`: when the call or its dial ends the fork is
// stopped and the open utterance is flushed into a final within `flush_budget` (jambonz waits 1.5 s);
// `paused` ends the open utterance and ignores audio until it is false again. Audio waiting for the decoder
// is bounded (`max_backlog`); beyond it frames are dropped and counted.
#pragma once
#include "app/media/audio_fork.hpp"
#include "app/observability/metrics.hpp"
#include "app/ports/media_port.hpp"
#include "app/ports/speech_recognizer_port.hpp"
#include "core/transcribe.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace dp::app {

struct TranscribeTarget {
  core::ng::Node node;
  std::string call_id;
  std::string tag;  // the party: the caller's From tag (channel 1) or the answered leg's To tag (channel 2)
  int channel = core::stt::kCaller;
};

struct TranscribeSettings {
  std::string vendor;
  std::string language = std::string(core::stt::kDefaultLanguage);
  bool interim = false;
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds flush_budget{1500};
  std::chrono::milliseconds decode_timeout{5000};  // one decode step
  std::chrono::milliseconds max_backlog{8000};     // speech waiting for the decoder
  int vad_aggressiveness = 2;
};

class TranscribeRun {
 public:
  struct Poll {
    bool wanted = true;   // the call and its dial are still on
    bool paused = false;  // REST transcribe_status
  };
  using OnResult = std::function<boost::asio::awaitable<void>(const core::stt::Result&)>;
  using OnError = std::function<boost::asio::awaitable<void>(int channel, const std::string& error)>;
  using PollFn = std::function<boost::asio::awaitable<Poll>()>;
  struct Deps {
    boost::asio::any_io_executor ex;
    MediaPort& media;
    AudioForkConfig fork;
    SpeechRecognizerPort& stt;
    CallStats& metrics;
  };

  static boost::asio::awaitable<void> run(Deps d, TranscribeTarget target, TranscribeSettings s, OnResult on_result,
                                          OnError on_error, PollFn poll);

 private:
  class Runner;
};

}  // namespace dp::app
