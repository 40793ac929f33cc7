// Kamailio's decision requests (docs/internal-protocol.md §1), parsed once where they enter: the new INVITE
// (/kamailio/invite) and a failed dial (/kamailio/dial-failed). Fields Kamailio leaves out read as empty or
// as the documented default; the session decides what an empty value means.
#pragma once
#include <boost/json.hpp>

#include <string>

namespace dp::core {

struct InviteRequest {
  std::string call_id;
  std::string cseq;       // the INVITE's CSeq number: a re-sent request has the same one
  std::string ruri_user;  // dialled number or user, from the Request-URI
  std::string ruri_host;
  std::string to_user;
  std::string to_host;    // the host of the To URI
  std::string from_user;
  std::string from_host;  // the host of the From URI
  std::string from_name;  // the From display name
  std::string src_ip;     // where the INVITE came from
  std::string node;       // the Kamailio that asks (its JSON-RPC URL)
  std::string from_tag;   // the caller's tag
  std::string sdp;        // the caller's SDP offer ("" when the INVITE has none: late offer)
  std::string caller_media;  // the caller's rtpengine profile from the INVITE's transport ("webrtc": a browser)
  std::string auth_user;     // the SIP user whose digest credentials Kamailio checked ("" = none sent)
};
InviteRequest parse_invite_request(const boost::json::object& body);

struct DialFailedRequest {
  std::string call_sid;
  int dial = 0;    // which dial of the call failed
  int leg = -1;    // the leg whose reply tm picked (-1: none)
  int code = 480;  // that reply's status
  std::string reason;
  bool timeout = false;  // tm's ring timer ended the dial
};
DialFailedRequest parse_dial_failed_request(const boost::json::object& body);

// "example.com" from "sip:alice@example.com:5060;transport=tcp" (empty when it is not a URI).
std::string host_of_uri(const std::string& uri);

}  // namespace dp::core
