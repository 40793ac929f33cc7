// MediaPort over io::NgClient: every command goes to the node named with it. An adapter of the session room (like
// kamailio_rpc_control), since io/ may not include app/ports.
#pragma once
#include "app/ports/media_port.hpp"
#include "io/rtpengine/ng_client.hpp"

namespace dp::app {

class NgMediaPort final : public MediaPort {
 public:
  explicit NgMediaPort(io::NgClient& ng) : ng_(ng) {}
  // Not a coroutine: NgClient::request takes both by value, so its frame owns them.
  boost::asio::awaitable<io::NgResult> request(const core::ng::Node& node, core::ng::Request req) override {
    return ng_.request(node, std::move(req));
  }

 private:
  io::NgClient& ng_;
};

}  // namespace dp::app
