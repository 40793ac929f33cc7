#include "app/api/internal/leg_api.hpp"

#include "core/carrier_select.hpp"
#include "core/dial_plan.hpp"
#include "core/json_get.hpp"
#include "core/leg_failover.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"

// Awaited values go into named locals before being tested (docs/coroutines.md).

namespace dp::app {

namespace json = boost::json;
using boost::asio::awaitable;

namespace {

constexpr int kLegPlanTtlS = 6 * 3600;
constexpr int kSlotTtlS = 6 * 3600;  // a slot whose call vanished without a trace expires at the latest then

using core::jget::str;

// A slot is alive while its call exists and the leg of that dial has not failed.
awaitable<bool> member_alive(CallStorePort& calls, const std::string& member) {
  auto m = core::parse_slot_member(member);
  if (!m) co_return false;
  auto cur = co_await calls.load(m->call_sid);
  co_return core::slot_still_needed(cur ? &cur->state : nullptr, *m);
}

// The leg plan being walked: its cursor (`next`, `last_carrier`) and the carrier slot it holds (`held`) are
// stored back in the plan after every decision.
struct LegCursor {
  ProvisioningPort& prov;
  CallStorePort& calls;
  std::string token;
  json::object plan;
  std::string member;  // this leg's slot member
  std::string held;    // carrier whose slot the leg holds ("" = none)

  awaitable<void> release_held() {
    if (!held.empty()) co_await prov.release_slot(held, member);
    held.clear();
    plan["held"] = "";
  }
  awaitable<void> save() { co_await prov.put_leg_plan(token, plan, kLegPlanTtlS); }

  // Takes a slot of `c` (1); at max_calls, first drops slots of calls that ended without telling us. 0 = at
  // max_calls, -1 = at max_cps.
  awaitable<int> acquire(const core::Carrier& c, double now) {
    int got = co_await prov.acquire_slot(c, member, now, kSlotTtlS);
    if (got != 0) co_return got;
    auto members = co_await prov.slot_members(c.carrier_sid);
    for (const auto& m : members) {
      bool alive = co_await member_alive(calls, m);
      if (!alive) co_await prov.release_slot(c.carrier_sid, m);
    }
    got = co_await prov.acquire_slot(c, member, now, kSlotTtlS);
    co_return got;
  }
};

awaitable<std::vector<core::Carrier>> plan_carriers(ProvisioningPort& prov, const json::object& plan) {
  std::vector<core::Carrier> out;
  auto* sids = plan.if_contains("carriers");
  if (!sids || !sids->is_array()) co_return out;
  for (const auto& sid : sids->get_array()) {
    if (!sid.is_string()) continue;
    std::string key(sid.get_string());
    auto c = co_await prov.carrier(key);
    if (c) out.push_back(std::move(*c));
  }
  co_return out;
}

const core::Carrier* carrier_by_sid(const std::vector<core::Carrier>& carriers, const std::string& sid) {
  const core::Carrier* found = nullptr;
  for (const auto& c : carriers)
    if (c.carrier_sid == sid) found = &c;
  return found;
}

core::LegAttempt attempt_through(const core::Carrier& c, const core::Gateway& gw, const std::string& number) {
  core::LegAttempt a;
  a.uri = core::phone_uri(c, gw, number);
  a.auth_user = c.auth_username;
  a.auth_pass = c.auth_password;
  a.auth_realm = c.auth_realm;
  a.no_failover_codes = core::join_codes(c.no_failover_codes);
  a.failover_codes = core::join_codes(c.failover_codes);
  return a;
}

// Walks the gateways from the plan's cursor: skips gateways reported down and carriers at their limits, holds
// the slot of the carrier it picks, and answers the next attempt, or a reply when none is left.
awaitable<json::object> next_phone_attempt(LegCursor& leg, const core::LegAsk& ask,
                                           const std::vector<core::Carrier>& carriers) {
  auto call_sid = str(leg.plan, "call_sid");
  auto number = str(leg.plan, "number");
  auto steps = core::gateway_sequence(carriers);
  auto health = co_await leg.prov.gateway_health();
  double now = io::wall_now();
  std::size_t idx = static_cast<std::size_t>(std::max<long long>(0, core::jget::integer(leg.plan, "next", 0)));
  bool any_down = false, any_capped = false;
  while (idx < steps.size()) {
    const auto& step = steps[idx];
    const auto& carrier = carriers[step.carrier];
    auto key = core::gateway_key(step.gateway);
    std::optional<core::GatewayHealth> h;
    if (auto it = health.find(key); it != health.end()) h = core::parse_gateway_health(it->second);
    if (!core::gateway_usable(h, now)) {
      any_down = true;
      log::info("gateway_skipped", {{"call_sid", call_sid}, {"gateway", key}, {"why", "down"}});
      ++idx;
      continue;
    }
    if (carrier.carrier_sid != leg.held) {
      int got = co_await leg.acquire(carrier, now);
      if (got != 1) {
        any_capped = true;
        log::info("carrier_skipped", {{"call_sid", call_sid}, {"carrier_sid", carrier.carrier_sid},
                                      {"why", got == 0 ? "max_calls" : "max_cps"}});
        idx = core::next_carrier_step(steps, idx);
        continue;
      }
      co_await leg.release_held();
      leg.held = carrier.carrier_sid;
      leg.plan["held"] = leg.held;
    }
    leg.plan["next"] = ++idx;
    leg.plan["last_carrier"] = carrier.carrier_sid;
    co_await leg.save();
    log::info("leg_attempt", {{"call_sid", call_sid}, {"carrier_sid", carrier.carrier_sid}, {"gateway", key},
                              {"attempt", std::to_string(ask.n + 1)}});
    co_return core::leg_attempt(attempt_through(carrier, step.gateway, number));
  }
  co_await leg.release_held();
  leg.plan["next"] = idx;
  co_await leg.save();
  if (ask.n > 0) co_return core::relayed_failure(ask, 503);  // relay the last failure
  co_return core::leg_reply(503, core::no_attempt_reason(any_capped, any_down));
}

// A phone leg: the failure of the previous attempt may end the leg; otherwise the next gateway is tried.
awaitable<json::object> phone_leg_decision(LegCursor& leg, const core::LegAsk& ask) {
  auto carriers = co_await plan_carriers(leg.prov, leg.plan);
  const core::Carrier* last = ask.n > 0 ? carrier_by_sid(carriers, str(leg.plan, "last_carrier")) : nullptr;
  if (last && core::leg_ends_after(ask, *last)) {
    co_await leg.release_held();
    co_await leg.save();
    co_return core::relayed_failure(ask, 480);
  }
  auto decision = co_await next_phone_attempt(leg, ask, carriers);
  co_return decision;
}

}  // namespace

awaitable<json::object> leg_decision(ProvisioningPort& prov, CallStorePort& calls, const json::object& req) {
  auto ask = core::leg_ask_from_json(req);
  if (ask.token.empty()) co_return core::leg_reply(500, "leg token missing");
  auto loaded = co_await prov.leg_plan(ask.token);
  if (!loaded) co_return core::leg_reply(503, "leg plan not found");
  if (str(*loaded, "type") == "sip") co_return core::sip_leg_decision(ask, *loaded);
  LegCursor leg{prov, calls, ask.token, std::move(*loaded), {}, {}};
  leg.member = core::slot_member(str(leg.plan, "call_sid"), core::jget::integer(leg.plan, "dial", 0),
                                 str(leg.plan, "number"), ask.token);
  leg.held = str(leg.plan, "held");
  auto decision = co_await phone_leg_decision(leg, ask);
  co_return decision;
}

}  // namespace dp::app
