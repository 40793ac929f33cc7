// An in-dialog REFER on a dialled call (jambonz's referHook, README semantics "referHook"): parsed once where
// it enters (/kamailio/refer), then decided here: which party referred which, the hook's `refer_details`, and
// the SIP answer Kamailio sends. A proxy never relays the REFER and cannot run verbs in its place.
#pragma once
#include "core/call_model.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dp::core {

using SipHead = std::vector<std::pair<std::string, std::string>>;  // header name as received, value; in order

// The header lines of a SIP message up to its blank line (continuation lines joined; the start line and any
// body skipped). Compact names are expanded for the headers a REFER uses (r → Refer-To, b → Referred-By).
SipHead parse_sip_head(std::string_view msg);

struct ReferRequest {
  std::string node;      // the Kamailio that asks
  std::string call_id;
  std::string call_sid;  // from the dialog ("" when Kamailio did not know it)
  std::string from_tag;  // of the REFER: the tag of the party that sent it
  std::string to_tag;
  std::string cseq;      // the REFER's CSeq number (a retransmission has the same: idempotency)
  std::string refer_to;      // raw header values, "" when absent
  std::string referred_by;
  std::string user_agent;
  bool refer_sub_false = false;  // Refer-Sub: false (RFC 4488: the referrer wants no NOTIFY)
  SipHead x_headers;             // every X-* header, as received
};
ReferRequest parse_refer_request(const boost::json::object& body);

// The user of the URI in a Refer-To / Referred-By value: the number of a tel: URI, the user of a sip:/sips: URI
// ("" when it has none). `<sip:+15551234567@host;user=phone>` → "+15551234567".
std::string refer_user(std::string_view header_value);

// "X-Call-Number" → "x_call_number" (jambonz's snake_case of header names).
std::string snake_header_name(std::string_view name);

// Which leg of the bridged dial sent the REFER. No value when the call has no answered dial, or the tag is
// neither the caller's nor the winner's.
struct ReferParties {
  bool from_callee = false;
  int leg = -1;                // the winner leg of the dial
  std::string referring_sid;   // the leg that sent the REFER
  std::string referred_sid;    // the other one
};
std::optional<ReferParties> refer_parties(const CallState& c, const ReferRequest& r);

// jambonz's refer_details: sip_refer_to, refer_to_user, sip_referred_by, referred_by_user, sip_user_agent,
// referring_call_sid, referred_call_sid, and every X-* header snake_cased.
boost::json::object refer_details(const ReferRequest& r, const ReferParties& p);

// What Kamailio answers the REFER. `hdrs` = extra header lines, CRLF-terminated.
struct SipAnswer {
  int code = 501;
  std::string reason;
  std::string hdrs;
};
boost::json::object to_json(const SipAnswer& a);

// jambonz's answers: the hook accepted (2xx) → 202; it answered another status → that status (SIP has the
// same codes for 4xx–6xx; anything else, or no answer at all → 501). `why` becomes the X-Reason of a refusal.
SipAnswer refer_accepted(const ReferRequest& r);
SipAnswer refer_refused(int hook_status, std::string_view why);

}  // namespace dp::core
