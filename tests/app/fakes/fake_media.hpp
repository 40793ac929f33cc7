// In-memory MediaPort: records every NG request with its node and answers a scripted result per command
// (default: ok, with an SDP for offer/answer).
#pragma once
#include "app/ports/media_port.hpp"

#include <map>
#include <string>
#include <vector>

namespace dp::test {

class FakeMedia final : public app::MediaPort {
 public:
  struct Sent {
    std::string node;
    core::ng::Request req;
    core::ng::Command command() const { return core::ng::command_of(req); }
  };
  std::vector<Sent> sent;
  std::map<core::ng::Command, io::NgResult> scripted;  // overrides the default answer of a command

  boost::asio::awaitable<io::NgResult> request(const core::ng::Node& node, core::ng::Request req) override {
    auto cmd = core::ng::command_of(req);
    sent.push_back({node.spec, std::move(req)});
    if (auto it = scripted.find(cmd); it != scripted.end()) co_return it->second;
    io::NgResult r;
    r.kind = io::NgResult::Kind::Ok;
    r.reply.result = core::ng::NgReply::Result::Ok;
    if (cmd == core::ng::Command::Offer || cmd == core::ng::Command::Answer)
      r.reply.sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n"
                    "m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
    co_return r;
  }

  std::vector<core::ng::Command> commands() const {
    std::vector<core::ng::Command> out;
    for (const auto& s : sent) out.push_back(s.command());
    return out;
  }
};

}  // namespace dp::test
