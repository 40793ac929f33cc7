// Turns a validated dial verb plus facts the shell looked up (carriers, registered contacts) into the
// legs and SIP branches Kamailio will fork. Pure.
#pragma once
#include "core/media_profile.hpp"
#include "core/provisioning.hpp"
#include "core/teams.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dp::core {

inline constexpr int kMaxTargets = 10;       // jambonz MAX_SIMRINGS
inline constexpr int kMaxTmBranches = 30;  // kamailio.cfg max_branches (31 keeps tm from starting); blind branches included

struct Contact {
  std::string uri;  // registered Contact URI
  std::string dst;  // received/path address to send to, empty when the contact itself is reachable
  // Transport the contact registered over, lower case ("udp", "tcp", "tls", "ws", "wss"; "" = not stated, UDP):
  // what Kamailio recorded for the connection (Received), else the Contact URI's own transport parameter.
  std::string transport;
};

// rtpengine profile of a branch to a registered contact (PlannedBranch::media), decided from the transport the
// contact registered over, never from its SDP: a browser over WebSocket gets "webrtc" (ICE, DTLS-SRTP,
// rtcp-mux, AVPF), every other contact plain RTP (""). The caller's side has its own (CallState::caller_media).
std::string contact_media_profile(const Contact& contact);

// What the shell found out about one target before planning.
struct TargetFacts {
  std::optional<Carrier> carrier;  // `phone`: the carrier to use
  std::vector<Contact> contacts;   // `user`: registered contacts (empty = not registered)
  std::string error;               // set when a lookup failed; the leg fails with 503 and this reason
  // Set when the leg goes through Kamailio's inner hop (carrier failover, per-leg digest auth): the branch is
  // sent to Kamailio itself as sip:dpleg-<token>@dpleg.invalid and the inner hop asks /kamailio/leg.
  std::string leg_token;
  // `teams`: the account (its Teams settings) and the first Microsoft proxy not reported down; no proxy when
  // every one fails its OPTIONS pings.
  std::optional<Account> teams_account;
  std::optional<TeamsProxy> teams_proxy;
};

inline constexpr std::string_view kInnerHopHost = "dpleg.invalid";
// Request-URI of a leg's inner hop.
std::string inner_hop_uri(const std::string& token);

struct CallerFacts {
  std::string from_user;
  std::string from_host;
  std::string caller_name;
};

struct PlannedBranch {
  int leg = 0;
  std::string uri;
  std::string dst;
  std::string from_uri;
  std::string from_name;
  std::string hdrs;  // rendered "Name: value\r\n" lines
  std::string contact;  // replaces the caller's Contact on this branch ("<sip:…>"; teams: the SBC FQDN)
  std::string media;    // rtpengine profile of this branch ("" = RTP_FLAGS; "teams": SRTP SDES, ICE, rtcp-mux;
                        // "webrtc": ICE, DTLS-SRTP, rtcp-mux, AVPF toward a browser)
};

struct PlannedLeg {
  std::string type;
  std::string to;
  std::string from_user;
  std::vector<PlannedBranch> branches;
  int fail_code = 0;  // non-zero: the leg fails at once with this SIP status (no INVITE sent)
  std::string fail_reason;
};

// jambonz de-duplicates targets (phone/teams by number, user by name, sip by sipUri) and keeps 10.
boost::json::array unique_targets(const boost::json::array& targets);

// `user` target name with the account's realm appended when it has no '@'.
std::string user_aor(const boost::json::object& target, const std::string& sip_realm);

// Request-URI for a phone number through a carrier gateway (tech prefix, leading '+', transport).
std::string phone_uri(const Carrier& carrier, const Gateway& gw, const std::string& number);

// The gateway to use first: lowest priority value, then highest weight.
const Gateway* first_gateway(const Carrier& carrier);

PlannedLeg plan_leg(int index, const boost::json::object& target, const boost::json::object& dial,
                    const CallerFacts& caller, const TargetFacts& facts);

// Checks that a URI from an app is a plausible sip:/sips: URI that can be put into a request line
// (no whitespace, control characters or angle brackets).
bool is_safe_sip_uri(std::string_view uri);

// Percent-encodes what may not appear in a SIP URI user part; quotes a display name.
std::string escape_sip_user(std::string_view user);
std::string quote_display_name(std::string_view name);

}  // namespace dp::core
