// MediaPort over the NG client: what the call session sends to rtpengine goes through here.
#pragma once
#include "app/ports/media_port.hpp"

namespace dp::app {

class RtpengineMedia final : public MediaPort {
 public:
  explicit RtpengineMedia(io::NgClient& ng) : ng_(ng) {}
  boost::asio::awaitable<io::NgResult> request(const core::ng::Node& node, core::ng::Request req) override {
    auto result = co_await ng_.request(node, std::move(req));
    co_return result;
  }

 private:
  io::NgClient& ng_;
};

}  // namespace dp::app
