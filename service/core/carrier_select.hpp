// Carrier selection for `phone` targets, the ordered gateway attempts of a leg, failover rules and gateway
// health. Pure: the shell loads carriers, LCR routes, health and limits and calls these. See docs/carriers.md.
#pragma once
#include "core/provisioning.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dp::core {

// What the shell found out before selecting carriers for one `phone` target.
struct SelectionInput {
  std::string number;                           // dialled number (target.number)
  std::string trunk;                            // target.trunk ("" = none)
  std::optional<Carrier> trunk_carrier;         // the account's carrier named `trunk`, when found
  std::optional<Carrier> number_owner;          // the carrier that owns the calling number, when any
  std::vector<LcrRoute> lcr_routes;             // the account's LCR table
  std::map<std::string, Carrier> carriers;      // the account's carriers by sid
  std::string inbound_ip;                       // source address of the parent call
  std::string default_carrier_sid;              // the account's default carrier
};

struct Selection {
  std::vector<Carrier> carriers;  // in the order to try them
  std::string source;             // trunk | number_owner | lcr | inbound | default
  std::string error;              // set when nothing was found (the leg fails 503 with this reason)
};

// jambonz's order (research jambonz-dial §2.3.4): `trunk` → the carrier owning the calling number (only when
// the account has no LCR table, as jambonz does) → LCR (longest prefix; its carriers in order) → the inbound
// carrier (parent call's source address in a carrier's source_addresses) → the account's default carrier.
// A named `trunk` that does not exist is an error (no silent fallback to another carrier).
Selection select_carriers(const SelectionInput& in);

// Longest matching prefix of `number` (leading '+' ignored); nullptr when no route matches.
const LcrRoute* match_lcr(const std::vector<LcrRoute>& routes, const std::string& number);

// Gateways of one carrier in the order to try: lower priority first, then higher weight, then as provisioned.
std::vector<Gateway> ordered_gateways(const Carrier& carrier);

// Key of a gateway in Redis health data and in Kamailio's ping list: "sip:host:port;transport=udp".
std::string gateway_key(const Gateway& gw);

// One INVITE attempt of a leg through the inner hop.
struct Attempt {
  std::string carrier_sid;
  std::string uri;
  std::string dst;
  std::string gw_key;  // empty for `sip` targets
};

// Health of one gateway as last written by a Kamailio node ("up|<ts>" / "down|<ts>").
struct GatewayHealth {
  std::string state;  // up | down | "" (never pinged)
  double updated = 0;
};
std::optional<GatewayHealth> parse_gateway_health(const std::string& value);
// A gateway is skipped only when a node said "down" recently (a stale report means nobody pings it any more).
inline constexpr double kHealthStaleS = 30;
bool gateway_usable(const std::optional<GatewayHealth>& h, double now);

// Failover rule: on no answer (local timeout), 408, 5xx or one of the carrier's extra failover codes, but never
// on one of its no-failover codes (declines: 486, 600, 603 by default) and never after early media.
bool should_failover(int code, bool timeout, bool early_media, const Carrier& carrier);

// "486,600,603" for Kamailio's in_list().
std::string join_codes(const std::vector<int>& codes);

}  // namespace dp::core
