#include "core/leg_failover.hpp"

#include "core/carrier_select.hpp"
#include "core/dial_machine.hpp"
#include "core/json_get.hpp"

#include <cstdlib>

namespace dp::core {

namespace json = boost::json;

LegAsk leg_ask_from_json(const json::object& req) {
  LegAsk a;
  a.token = jget::str(req, "token");
  a.n = static_cast<int>(jget::integer(req, "n", 0));
  a.code = static_cast<int>(jget::integer(req, "code", 0));
  a.reason = jget::str(req, "reason");
  a.timeout = jget::integer(req, "timeout", 0) != 0;
  a.early_media = jget::integer(req, "early_media", 0) != 0;
  return a;
}

json::object leg_reply(int code, const std::string& reason) {
  return {{"action", "reply"}, {"code", code}, {"reason", sanitize_header_value(reason, 100)}};
}

json::object leg_attempt(const LegAttempt& a) {
  return {{"action", "attempt"},       {"uri", a.uri},
          {"dst", a.dst},              {"auth_user", a.auth_user},
          {"auth_pass", a.auth_pass},  {"auth_realm", a.auth_realm},
          {"nofo", a.no_failover_codes}, {"fo", a.failover_codes}};
}

json::object relayed_failure(const LegAsk& ask, int fallback) {
  return leg_reply(ask.code >= 300 ? ask.code : fallback, ask.reason);
}

json::object sip_leg_decision(const LegAsk& ask, const json::object& plan) {
  if (ask.n > 0) return relayed_failure(ask, 480);
  LegAttempt a;
  a.uri = jget::str(plan, "uri");
  a.dst = jget::str(plan, "dst");
  a.auth_user = jget::str(plan, "auth_user");
  a.auth_pass = jget::str(plan, "auth_pass");
  return leg_attempt(a);
}

bool leg_ends_after(const LegAsk& ask, const Carrier& last) {
  return !should_failover(ask.code, ask.timeout, ask.early_media, last);
}

std::vector<GatewayStep> gateway_sequence(const std::vector<Carrier>& carriers) {
  std::vector<GatewayStep> out;
  for (std::size_t i = 0; i < carriers.size(); ++i)
    for (const auto& g : ordered_gateways(carriers[i])) out.push_back({i, g});
  return out;
}

std::size_t next_carrier_step(const std::vector<GatewayStep>& steps, std::size_t from) {
  std::size_t i = from + 1;
  while (i < steps.size() && steps[i].carrier == steps[from].carrier) ++i;
  return i;
}

std::string no_attempt_reason(bool any_carrier_capped, bool any_gateway_down) {
  if (any_carrier_capped) return "all carriers at their call limits";
  if (any_gateway_down) return "no carrier gateway is up";
  return "no carrier gateway";
}

std::string slot_member(const std::string& call_sid, long long dial, const std::string& number,
                        const std::string& token) {
  return call_sid + "|" + std::to_string(dial) + "|" + number + "|" + token;
}

std::optional<SlotMember> parse_slot_member(const std::string& member) {
  auto p1 = member.find('|');
  auto p2 = member.find('|', p1 == std::string::npos ? p1 : p1 + 1);
  auto p3 = member.find('|', p2 == std::string::npos ? p2 : p2 + 1);
  if (p3 == std::string::npos) return std::nullopt;
  SlotMember m;
  m.call_sid = member.substr(0, p1);
  m.dial = std::atoi(member.substr(p1 + 1, p2 - p1 - 1).c_str());
  m.number = member.substr(p2 + 1, p3 - p2 - 1);
  return m;
}

bool slot_still_needed(const CallState* call, const SlotMember& m) {
  if (!call) return false;
  if (!call->dial) return true;  // not saved yet: the dial is being started
  if (call->dial->seq < m.dial) return true;
  if (call->dial->seq > m.dial) return false;
  for (const auto& l : call->dial->legs)
    if (l.type == "phone" && l.to == m.number) return !is_final(l.status);
  return true;
}

}  // namespace dp::core
