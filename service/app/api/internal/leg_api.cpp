#include "app/api/internal/leg_api.hpp"

#include "app/store/call_store.hpp"
#include "app/session/ids.hpp"
#include "app/store/provisioning_store.hpp"
#include "core/carrier_select.hpp"
#include "core/dial_machine.hpp"
#include "core/dial_plan.hpp"
#include "core/json_get.hpp"
#include "core/log.hpp"

namespace dp::app {

namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr int kLegPlanTtlS = 6 * 3600;
constexpr int kSlotTtlS = 6 * 3600;  // a slot whose call vanished without a trace expires at the latest then

using core::jget::str;
long long num(const json::object& o, std::string_view k, long long d = 0) { return core::jget::integer(o, k, d); }

json::object reply(int code, const std::string& reason) {
  return {{"action", "reply"}, {"code", code}, {"reason", core::sanitize_header_value(reason, 100)}};
}

json::object attempt(const std::string& uri, const std::string& dst, const std::string& user, const std::string& pass,
                     const std::string& realm, const std::string& nofo, const std::string& fo) {
  return {{"action", "attempt"}, {"uri", uri},       {"dst", dst},   {"auth_user", user},
          {"auth_pass", pass},   {"auth_realm", realm}, {"nofo", nofo}, {"fo", fo}};
}

// A slot member is "<call_sid>|<dial>|<number>|<token>". It is alive while its call exists and the leg of that
// dial has not failed.
awaitable<bool> member_alive(CallStorePort& calls, const std::string& member) {
  auto p1 = member.find('|');
  auto p2 = member.find('|', p1 == std::string::npos ? p1 : p1 + 1);
  auto p3 = member.find('|', p2 == std::string::npos ? p2 : p2 + 1);
  if (p3 == std::string::npos) co_return false;
  auto sid = member.substr(0, p1);
  int dial = std::atoi(member.substr(p1 + 1, p2 - p1 - 1).c_str());
  auto number = member.substr(p2 + 1, p3 - p2 - 1);
  auto cur = co_await calls.load(sid);
  if (!cur) co_return false;
  const auto& c = cur->state;
  if (!c.dial) co_return true;  // not saved yet: the dial is being started
  if (c.dial->seq < dial) co_return true;
  if (c.dial->seq > dial) co_return false;
  for (const auto& l : c.dial->legs)
    if (l.type == "phone" && l.to == number) co_return !core::is_final(l.status);
  co_return true;
}

}  // namespace

awaitable<json::object> leg_decision(io::RedisClient& redis, const std::string& key_prefix, const json::object& req) {
  ProvisioningStore prov(redis, key_prefix);
  CallStore calls(redis, key_prefix, kLegPlanTtlS);
  auto decision = co_await leg_decision(prov, calls, req);
  co_return decision;
}

awaitable<json::object> leg_decision(ProvisioningPort& prov, CallStorePort& calls, const json::object& req) {
  auto token = str(req, "token");
  if (token.empty()) co_return reply(500, "leg token missing");
  auto loaded = co_await prov.leg_plan(token);
  if (!loaded) co_return reply(503, "leg plan not found");
  json::object plan = std::move(*loaded);
  int n = static_cast<int>(num(req, "n"));
  int code = static_cast<int>(num(req, "code"));
  bool timeout = num(req, "timeout") != 0;
  bool early = num(req, "early_media") != 0;
  auto call_sid = str(plan, "call_sid");

  if (str(plan, "type") == "sip") {
    if (n > 0) co_return reply(code >= 300 ? code : 480, str(req, "reason"));
    co_return attempt(str(plan, "uri"), str(plan, "dst"), str(plan, "auth_user"), str(plan, "auth_pass"), "", "", "");
  }

  auto number = str(plan, "number");
  auto member = call_sid + "|" + std::to_string(num(plan, "dial")) + "|" + number + "|" + token;
  std::vector<core::Carrier> carriers;
  if (auto* cs = plan.if_contains("carriers"); cs && cs->is_array())
    for (const auto& sid : cs->get_array()) {
      if (!sid.is_string()) continue;
      auto c = co_await prov.carrier(std::string(sid.get_string()));
      if (c) carriers.push_back(std::move(*c));
    }
  auto held = str(plan, "held");
  auto release_held = [&]() -> awaitable<void> {
    if (!held.empty()) co_await prov.release_slot(held, member);
    held.clear();
    plan["held"] = "";
  };
  if (n > 0) {
    auto last = str(plan, "last_carrier");
    const core::Carrier* prev = nullptr;
    for (const auto& c : carriers)
      if (c.carrier_sid == last) prev = &c;
    if (prev && !core::should_failover(code, timeout, early, *prev)) {
      co_await release_held();
      co_await prov.put_leg_plan(token, plan, kLegPlanTtlS);
      co_return reply(code >= 300 ? code : 480, str(req, "reason"));
    }
  }

  struct Flat {
    const core::Carrier* carrier;
    core::Gateway gw;
  };
  std::vector<Flat> flat;
  for (const auto& c : carriers)
    for (const auto& g : core::ordered_gateways(c)) flat.push_back({&c, g});
  auto health = co_await prov.gateway_health();
  double now = wall_now();
  std::size_t idx = static_cast<std::size_t>(std::max<long long>(0, num(plan, "next")));
  bool any_down = false, any_capped = false;
  while (idx < flat.size()) {
    const auto& f = flat[idx++];
    auto key = core::gateway_key(f.gw);
    std::optional<core::GatewayHealth> h;
    if (auto it = health.find(key); it != health.end()) h = core::parse_gateway_health(it->second);
    if (!core::gateway_usable(h, now)) {
      any_down = true;
      log::info("gateway_skipped", {{"call_sid", call_sid}, {"gateway", key}, {"why", "down"}});
      continue;
    }
    if (f.carrier->carrier_sid != held) {
      int got = co_await prov.acquire_slot(*f.carrier, member, now, kSlotTtlS);
      if (got == 0) {
        // At max_calls: drop slots of calls that ended without telling us, then try once more.
        auto members = co_await prov.slot_members(f.carrier->carrier_sid);
        for (const auto& m : members) {
          bool alive = co_await member_alive(calls, m);
          if (!alive) co_await prov.release_slot(f.carrier->carrier_sid, m);
        }
        got = co_await prov.acquire_slot(*f.carrier, member, now, kSlotTtlS);
      }
      if (got != 1) {
        any_capped = true;
        log::info("carrier_skipped", {{"call_sid", call_sid}, {"carrier_sid", f.carrier->carrier_sid},
                                      {"why", got == 0 ? "max_calls" : "max_cps"}});
        while (idx < flat.size() && flat[idx].carrier == f.carrier) ++idx;
        continue;
      }
      co_await release_held();
      held = f.carrier->carrier_sid;
      plan["held"] = held;
    }
    plan["next"] = idx;
    plan["last_carrier"] = f.carrier->carrier_sid;
    co_await prov.put_leg_plan(token, plan, kLegPlanTtlS);
    log::info("leg_attempt", {{"call_sid", call_sid}, {"carrier_sid", f.carrier->carrier_sid}, {"gateway", key},
                              {"attempt", std::to_string(n + 1)}});
    const auto& c = *f.carrier;
    co_return attempt(core::phone_uri(c, f.gw, number), "", c.auth_username, c.auth_password, c.auth_realm,
                      core::join_codes(c.no_failover_codes), core::join_codes(c.failover_codes));
  }
  co_await release_held();
  plan["next"] = idx;
  co_await prov.put_leg_plan(token, plan, kLegPlanTtlS);
  if (n > 0) co_return reply(code >= 300 ? code : 503, str(req, "reason"));  // relay the last failure
  std::string why = any_capped ? "all carriers at their call limits"
                    : any_down ? "no carrier gateway is up"
                               : "no carrier gateway";
  co_return reply(503, why);
}

}  // namespace dp::app
