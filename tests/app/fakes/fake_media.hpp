// MediaPort that records every NG request (node and typed command) and answers scripted results: first the
// queued ones in order, then a per-command script, else an ok reply (with an SDP for offer/answer).
#pragma once
#include "app/ports/media_port.hpp"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace dp::test {

struct RecordedNg {
  core::ng::Node node;
  core::ng::Request request;
  core::ng::Command command() const { return core::ng::command_of(request); }
};

class FakeMedia final : public app::MediaPort {
 public:
  boost::asio::awaitable<io::NgResult> request(const core::ng::Node& node, core::ng::Request req) override {
    auto cmd = core::ng::command_of(req);
    requests.push_back({node, std::move(req)});
    if (!results_.empty()) {
      auto r = std::move(results_.front());
      results_.pop_front();
      co_return r;
    }
    if (auto it = scripted.find(cmd); it != scripted.end()) co_return it->second;
    co_return ok_reply(cmd);
  }

  // The next request gets an ok reply (to script a failure after it).
  void answer_ok() { results_.push_back(ok_reply(core::ng::Command::Ping)); }
  // The next request gets rtpengine's `error` with this reason.
  void answer_error(std::string reason) {
    io::NgResult r;
    r.kind = io::NgResult::Kind::RtpengineError;
    r.reply.result = core::ng::NgReply::Result::Error;
    r.reply.error_reason = std::move(reason);
    results_.push_back(std::move(r));
  }
  // The next request fails without a reply (Timeout, Unreachable, Overloaded…).
  void answer_failure(io::NgResult::Kind kind) {
    io::NgResult r;
    r.kind = kind;
    r.detail = "scripted failure";
    results_.push_back(std::move(r));
  }

  // The recorded commands of type T, in order.
  template <class T>
  std::vector<T> of_type() const {
    std::vector<T> out;
    for (const auto& r : requests)
      if (const T* t = std::get_if<T>(&r.request)) out.push_back(*t);
    return out;
  }
  std::vector<core::ng::Command> commands() const {
    std::vector<core::ng::Command> out;
    for (const auto& r : requests) out.push_back(r.command());
    return out;
  }

  std::vector<RecordedNg> requests;
  std::map<core::ng::Command, io::NgResult> scripted;  // the answer to every request of a command

 private:
  static io::NgResult ok_reply(core::ng::Command cmd) {
    io::NgResult r;
    r.kind = io::NgResult::Kind::Ok;
    r.reply.result = core::ng::NgReply::Result::Ok;
    r.sends = 1;
    if (cmd == core::ng::Command::Offer || cmd == core::ng::Command::Answer)
      r.reply.sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n"
                    "m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
    return r;
  }
  std::deque<io::NgResult> results_;
};

}  // namespace dp::test
