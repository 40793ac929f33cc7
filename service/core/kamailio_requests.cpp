#include "core/kamailio_requests.hpp"
#include "core/media_profile.hpp"

#include "core/json_get.hpp"


namespace dp::core {

std::string host_of_uri(const std::string& uri) {
  auto colon = uri.find(':');
  if (colon == std::string::npos) return {};
  auto rest = uri.substr(colon + 1);
  if (auto at = rest.find('@'); at != std::string::npos) rest = rest.substr(at + 1);
  auto end = rest.find_first_of(":;>?");
  return rest.substr(0, end);
}

InviteRequest parse_invite_request(const boost::json::object& body) {
  InviteRequest r;
  r.call_id = jget::str(body, "call_id");
  r.cseq = jget::str(body, "cseq");
  r.ruri_user = jget::str(body, "ruri_user");
  r.ruri_host = jget::str(body, "ruri_host");
  r.to_user = jget::str(body, "to_user");
  r.to_host = host_of_uri(jget::str(body, "to_uri"));
  r.from_user = jget::str(body, "from_user");
  r.from_host = host_of_uri(jget::str(body, "from_uri"));
  r.from_name = jget::str(body, "from_name");
  r.src_ip = jget::str(body, "src_ip");
  r.node = jget::str(body, "node");
  r.from_tag = jget::str(body, "from_tag");
  r.sdp = jget::str(body, "sdp");
  r.caller_media = media_profile_of_transport(jget::str(body, "proto"));
  r.auth_user = jget::str(body, "auth_user");
  return r;
}

DialFailedRequest parse_dial_failed_request(const boost::json::object& body) {
  // Integers outside int's range read as the default rather than wrapping.
  auto small_int = [&](std::string_view k, int dflt) {
    long long v = jget::integer(body, k, dflt);
    return v >= -1'000'000 && v <= 1'000'000 ? static_cast<int>(v) : dflt;
  };
  DialFailedRequest r;
  r.call_sid = jget::str(body, "call_sid");
  r.dial = small_int("dial", 0);
  r.leg = small_int("leg", -1);
  r.code = small_int("code", 480);
  r.reason = jget::str(body, "reason");
  r.timeout = jget::boolean(body, "timeout");
  return r;
}

}  // namespace dp::core
