// MediaPort that records every NG request (node and typed command) and answers scripted results, in order; a
// request without a script gets an ok reply.
#pragma once
#include "app/ports/media_port.hpp"

#include <deque>
#include <string>
#include <vector>

namespace dp::test {

struct RecordedNg {
  core::ng::Node node;
  core::ng::Request request;
};

class FakeMedia final : public app::MediaPort {
 public:
  boost::asio::awaitable<io::NgResult> request(const core::ng::Node& node, core::ng::Request req) override {
    requests.push_back({node, std::move(req)});
    if (results_.empty()) {
      io::NgResult ok;
      ok.kind = io::NgResult::Kind::Ok;
      ok.reply.result = core::ng::NgReply::Result::Ok;
      ok.sends = 1;
      co_return ok;
    }
    auto r = std::move(results_.front());
    results_.pop_front();
    co_return r;
  }

  // The next request gets an ok reply (to script a failure after it).
  void answer_ok() {
    io::NgResult r;
    r.kind = io::NgResult::Kind::Ok;
    r.reply.result = core::ng::NgReply::Result::Ok;
    results_.push_back(std::move(r));
  }
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

  std::vector<RecordedNg> requests;

 private:
  std::deque<io::NgResult> results_;
};

}  // namespace dp::test
