#include "core/inbound_admission.hpp"

namespace dp::core {

std::optional<InboundAuth> parse_inbound_auth(std::string_view v) {
  if (v == "off") return InboundAuth::Off;
  if (v == "devices") return InboundAuth::Devices;
  return std::nullopt;
}

AdmissionDecision admit_inbound(InboundAuth policy, const InboundCaller& caller) {
  if (policy == InboundAuth::Off) return {Admission::Admit, "inbound auth off"};
  // Credentials first: a device that proved who it is is judged as that user, wherever it calls from.
  if (!caller.auth_user.empty()) {
    if (!caller.auth_user_account) return {Admission::Refuse, "unknown user " + caller.auth_user};
    if (*caller.auth_user_account != caller.called_account)
      return {Admission::Refuse, "user " + caller.auth_user + " is not of the called account"};
    return {Admission::Admit, "user " + caller.auth_user};
  }
  // Carriers do not use WebSocket: a browser on a carrier's address still authenticates.
  if (caller.over_websocket) return {Admission::Challenge, "a browser (WebSocket): credentials required"};
  if (caller.from_carrier_address) return {Admission::Admit, "carrier"};
  return {Admission::Challenge, "not from a carrier of the account: credentials required"};
}

}  // namespace dp::core
