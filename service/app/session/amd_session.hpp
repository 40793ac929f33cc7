// Answering-machine detection on one leg (jambonz's dial `amd`, docs/amd.md): the leg's audio is forked out of
// rtpengine (app/media/audio_fork), each 20 ms frame goes through the WebRTC VAD and the pure detector
// (core/amd_detector), and every event the detector emits is handed to `on_event` in order. The run ends when
// the detector stops (amd_stopped was emitted), when `wanted()` turns false (the dial or the call ended: the
// detector is stopped, so amd_stopped still goes out), or after a hard cap; the fork is always unsubscribed.
#pragma once
#include "app/media/audio_fork.hpp"
#include "app/ports/media_port.hpp"
#include "core/amd_detector.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

namespace dp::app {

struct AmdTarget {
  core::ng::Node node;
  std::string call_id;
  std::string tag;  // the party whose audio is analysed (the callee's to-tag)
};

class AmdRun {
 public:
  using OnEvent = std::function<boost::asio::awaitable<void>(const core::amd::Event&)>;
  using Wanted = std::function<boost::asio::awaitable<bool>()>;
  struct Deps {
    boost::asio::any_io_executor ex;
    MediaPort& media;
    AudioForkConfig fork;
  };

  // False when the audio could not be forked (rtpengine refused, no socket): nothing was analysed.
  static boost::asio::awaitable<bool> run(Deps d, AmdTarget target, core::amd::Params params, OnEvent on_event,
                                          Wanted wanted);
};

}  // namespace dp::app
