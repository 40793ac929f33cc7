// hangup and sip:decline on an unanswered call: a final reply to the caller (hangup: 603 Decline; sip:decline:
// its status, reason and headers).
#pragma once
#include "app/verbs/verb_task.hpp"

namespace dp::app {

class RejectTask final : public VerbTask {
 public:
  explicit RejectTask(const boost::json::object& verb);
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<std::optional<boost::json::object>> run(VerbSession& session,
                                                                  CallStorePort::Versioned cur) override;

 private:
  std::string name_;
  int code_ = 603;
  std::string reason_;
  std::string hdrs_;
};

}  // namespace dp::app
