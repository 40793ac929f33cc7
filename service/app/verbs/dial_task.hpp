// dial: rings the targets (the fork itself is built by the call session's start_dial).
#pragma once
#include "app/verbs/verb_task.hpp"

namespace dp::app {

class DialTask final : public VerbTask {
 public:
  explicit DialTask(boost::json::object verb) : verb_(std::move(verb)) {}
  std::string_view name() const override { return "dial"; }
  boost::asio::awaitable<std::optional<boost::json::object>> run(VerbSession& session,
                                                                  CallStorePort::Versioned cur) override;

 private:
  boost::json::object verb_;
};

}  // namespace dp::app
