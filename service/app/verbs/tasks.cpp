#include "app/verbs/validate_app.hpp"
#include "app/verbs/dial_task.hpp"
#include "app/verbs/reject_task.hpp"
#include "core/call_model.hpp"
#include "core/json_get.hpp"

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
using core::jget::integer;
using core::jget::str;

std::unique_ptr<VerbTask> make_task(const json::object& verb) {
  auto name = str(verb, "verb");
  if (name == "dial") return std::make_unique<DialTask>(verb);
  if (name == "hangup" || name == "sip:decline") return std::make_unique<RejectTask>(verb);
  return nullptr;
}

asio::awaitable<std::optional<json::object>> DialTask::run(VerbSession& session, CallStorePort::Versioned cur) {
  auto decision = co_await session.start_dial(std::move(cur), verb_);
  co_return decision;
}

RejectTask::RejectTask(const json::object& verb) : name_(str(verb, "verb")) {
  bool decline = name_ == "sip:decline";
  code_ = decline ? static_cast<int>(integer(verb, "status", 603)) : 603;
  if (code_ < 300 || code_ > 699) code_ = 603;
  reason_ = decline ? str(verb, "reason") : std::string();
  if (reason_.empty()) reason_ = std::string(core::default_reason(code_));
  if (auto* h = verb.if_contains("headers"); h && h->is_object()) hdrs_ = render_verb_headers(h->get_object());
}

asio::awaitable<std::optional<json::object>> RejectTask::run(VerbSession& session, CallStorePort::Versioned cur) {
  auto decision = co_await session.reject_call(cur.state.call_sid, code_, reason_, hdrs_);
  co_return decision;
}

}  // namespace dp::app
