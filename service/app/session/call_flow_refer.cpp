// CallFlow's answer to an in-dialog REFER (jambonz's referHook; README semantics "referHook"). Kamailio holds
// the REFER's transaction while this runs and answers with what it returns; the REFER never reaches the other
// party.
#include "app/session/call_flow.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"
#include "io/redis/redis_client.hpp"

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<core::SipAnswer> CallFlow::refer(const core::ReferRequest& req) {
  std::optional<CallStorePort::Versioned> cur;
  try {
    auto sid = req.call_sid;
    if (sid.empty()) {
      auto found = co_await d_.calls.sid_for_call_id(req.call_id);
      sid = found.value_or("");
    }
    if (!sid.empty()) cur = co_await d_.calls.load(sid);
  } catch (const io::RedisError& e) {
    d_.metrics.redis_error();
    log::warn("refer_redis_error", {{"call_id", req.call_id}, {"error", e.what()}});
    d_.metrics.refer("failed");
    co_return core::refer_refused(500, "call state unavailable");
  }
  if (!cur) {
    d_.metrics.refer("not_bridged");
    co_return core::refer_refused(481, "no such call");
  }
  const auto& c = cur->state;
  auto parties = core::refer_parties(c, req);
  if (!parties) {
    d_.metrics.refer("not_bridged");
    co_return core::refer_refused(0, "no bridged dial on this call");
  }
  const auto& verb = c.dial->verb;
  auto hook = verb.is_object() ? core::resolve_hook(verb.get_object().if_contains("referHook"), c.call_hook)
                               : std::nullopt;
  if (!hook) {
    d_.metrics.refer("no_hook");
    co_return core::refer_refused(0, "no referHook");  // jambonz: 501
  }
  // The call info of the leg that sent the REFER (jambonz: the child's for a child REFER), plus refer_details.
  double now = io::wall_now();
  const auto& leg = c.dial->legs[static_cast<std::size_t>(parties->leg)];
  auto payload = parties->from_callee ? core::child_payload(c, leg, now) : core::parent_payload(c, now);
  payload["refer_details"] = core::refer_details(req, *parties);
  std::string key = c.call_sid + "-refer-" + req.from_tag + "-" + req.cseq;
  auto res = co_await d_.hooks.request(c.account_sid, *hook, payload, "refer", key);
  log::info("refer", {{"call_sid", c.call_sid}, {"referring", parties->referring_sid},
                      {"refer_to_user", core::refer_user(req.refer_to)},
                      {"hook_status", std::to_string(res.status)}});
  if (!res.ok) {
    d_.metrics.refer(res.status >= 400 ? "refused" : "failed");
    co_return core::refer_refused(res.status, res.status ? "referHook answered " + std::to_string(res.status)
                                                         : "referHook failed: " + res.error);
  }
  // jambonz runs verbs returned here in place of the dial (a B2BUA); a proxy cannot: the app acts through REST.
  if (res.json && res.json->is_array() && !res.json->get_array().empty())
    log::warn("refer_verbs_not_run", {{"call_sid", c.call_sid}, {"why", "a proxy cannot run verbs here: use REST"}});
  d_.metrics.refer("accepted");
  co_return core::refer_accepted(req);
}

}  // namespace dp::app
