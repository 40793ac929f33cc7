// Port: rtpengine, as the call session drives it over NG (io/rtpengine/ng_client is the implementation;
// tests/app/fakes records the commands and answers scripted replies).
//
// `node` is the rtpengine that anchors the call (CallState::rtp_node, an NG spec such as `udp:10.0.0.5:22222`):
// every command of a call must go to the node Kamailio uses for it.
#pragma once
#include "core/ng_protocol.hpp"
#include "io/rtpengine/ng_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <string>

namespace dp::app {

class MediaPort {
 public:
  virtual ~MediaPort() = default;
  // Never throws for NG or network failures: they come back as NgResult kinds (timeouts included).
  virtual boost::asio::awaitable<io::NgResult> request(const core::ng::Node& node, core::ng::Request req) = 0;
};

}  // namespace dp::app
