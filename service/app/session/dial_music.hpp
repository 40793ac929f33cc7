// dialMusic (docs/media.md §dialMusic). A proxy has only jambonz's answerOnBridge mode: before the fork,
// rtpengine answers the caller's offer for a placeholder callee and plays the file to the caller in a loop;
// the fork decision carries rtpengine's SDP for the caller's 183. Kamailio stops the music on the first 2xx
// (before the callee's answer goes to rtpengine) and, while music plays, keeps the targets' provisional
// replies from the caller, as jambonz does. When anything fails the call goes on without music: the caller
// hears what the targets send.
#pragma once
#include "app/config/config.hpp"
#include "app/observability/metrics.hpp"
#include "app/ports/media_files_port.hpp"
#include "app/ports/media_port.hpp"
#include "core/call_model.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace dp::app {

struct MusicStarted {
  std::string early_sdp;  // the caller's 183 body
  std::string file;       // what rtpengine plays
};

class DialMusic {
 public:
  struct Deps {
    MediaPort& media;
    MediaFilesPort& files;
    CallStats& metrics;
    // How long a dial may wait for the file before it rings without music (the fetch goes on for the next
    // call). Kamailio's decision timeout bounds the whole decision.
    std::chrono::milliseconds fetch_wait{1500};
  };
  explicit DialMusic(Deps d) : d_(d) {}

  // Starts the music of `verb` (a dial with dialMusic) for call `c`; nullopt when the dial rings without it.
  boost::asio::awaitable<std::optional<MusicStarted>> start(const core::CallState& c,
                                                            const boost::json::object& verb);

 private:
  boost::asio::awaitable<std::optional<MediaFile>> fetch_in_time(const core::Hook& source);
  boost::asio::awaitable<std::optional<std::string>> answer_for_caller(const core::CallState& c,
                                                                       const core::ng::Node& node);
  Deps d_;
};

}  // namespace dp::app
