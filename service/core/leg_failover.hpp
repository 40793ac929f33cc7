// The decisions of a leg's failover cursor (POST /kamailio/leg, docs/carriers.md): what Kamailio's inner hop
// asked, when a failed attempt ends the leg, which gateways come next, and the answers. The shell
// (app/api/internal/leg_api) loads the plan, health and slots and stores the cursor.
#pragma once
#include "core/call_model.hpp"
#include "core/provisioning.hpp"

#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace dp::core {

// One ask of the inner hop: after `n` attempts, the last one failed with `code`/`reason` (n = 0: the start).
struct LegAsk {
  std::string token;
  int n = 0;
  int code = 0;
  std::string reason;
  bool timeout = false;      // the attempt got no final reply in time
  bool early_media = false;  // the attempt had sent early media (never fails over)
};
LegAsk leg_ask_from_json(const boost::json::object& req);

// The answers.
boost::json::object leg_reply(int code, const std::string& reason);
struct LegAttempt {
  std::string uri;
  std::string dst;
  std::string auth_user;
  std::string auth_pass;
  std::string auth_realm;
  std::string no_failover_codes;  // "486,600,603"
  std::string failover_codes;
};
boost::json::object leg_attempt(const LegAttempt& a);

// The reply that relays the failure of the last attempt: its code when it is a failure, else `fallback`.
boost::json::object relayed_failure(const LegAsk& ask, int fallback);

// A `sip` target with credentials has one attempt; any ask after it relays its failure (480 without one).
boost::json::object sip_leg_decision(const LegAsk& ask, const boost::json::object& plan);

// True when the failure of the attempt through `last` (the carrier of the previous attempt) ends the leg
// instead of moving on to the next gateway.
bool leg_ends_after(const LegAsk& ask, const Carrier& last);

// Every gateway of the carriers, in the order to try: carrier by carrier, each in ordered_gateways order.
// `carrier` indexes `carriers`.
struct GatewayStep {
  std::size_t carrier = 0;
  Gateway gateway;
};
std::vector<GatewayStep> gateway_sequence(const std::vector<Carrier>& carriers);
// The first step after `from` that belongs to another carrier (skipping a carrier at its limits).
std::size_t next_carrier_step(const std::vector<GatewayStep>& steps, std::size_t from);

// Why a leg could not make its first attempt.
std::string no_attempt_reason(bool any_carrier_capped, bool any_gateway_down);

// A carrier-slot member is "<call_sid>|<dial>|<number>|<token>".
std::string slot_member(const std::string& call_sid, long long dial, const std::string& number,
                        const std::string& token);
struct SlotMember {
  std::string call_sid;
  int dial = 0;
  std::string number;
};
std::optional<SlotMember> parse_slot_member(const std::string& member);
// Whether the leg holding a slot may still need it: its call exists (nullptr: gone) and the phone leg of that
// dial to that number has not ended. A call whose dial is not saved yet, or is older, keeps it.
bool slot_still_needed(const CallState* call, const SlotMember& m);

}  // namespace dp::core
