// Who may start a call (jambonz's SBC: INVITEs from a known carrier are let in, INVITEs from SIP devices and
// browsers must authenticate). Kamailio checks a device's digest credentials against its SIP user (roles/dial.cfg
// INVITE_AUTH) and says which user it proved; this decides, from facts the session looked up, whether the call
// goes on, gets a 407 challenge, or is refused.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace dp::core {

enum class InboundAuth {
  Off,      // every INVITE to a number or SIP domain runs its app (no caller check)
  Devices,  // carriers of the called account by source address; anyone else proves a SIP user of that account
};
// "off" | "devices"; nullopt for anything else.
std::optional<InboundAuth> parse_inbound_auth(std::string_view v);

struct InboundCaller {
  bool from_carrier_address = false;  // the source address is one of the called account's carriers'
  bool over_websocket = false;        // ws/wss: a browser, never a carrier
  std::string auth_user;              // the SIP user Kamailio authenticated ("" = no credentials)
  std::optional<std::string> auth_user_account;  // that user's account (nullopt: no such user any more)
  std::string called_account;         // the account of the dialled number or SIP domain
};

enum class Admission { Admit, Challenge, Refuse };
struct AdmissionDecision {
  Admission what = Admission::Admit;
  std::string why;  // for the log and, when refused, the X-Reason
};
AdmissionDecision admit_inbound(InboundAuth policy, const InboundCaller& caller);

}  // namespace dp::core
