// rtpengine media profiles: where an SDP goes decides how rtpengine rewrites it. Kamailio applies the same
// profiles to the SDP it relays (kamailio-cfg/kamailio.cfg: RTP_FLAGS, WEBRTC_ANSWER_FLAGS, WEBRTC_PLAIN_FLAGS); the
// SDP dialplane has rtpengine make itself (dialMusic's answer, a screened callee's answer) must agree with them.
#pragma once
#include "core/ng_protocol.hpp"

#include <string>
#include <string_view>

namespace dp::core {

// A browser: ICE, DTLS-SRTP, rtcp-mux, AVPF. "" is plain RTP/AVP.
inline constexpr std::string_view kMediaWebrtc = "webrtc";

// The profile of a party from the SIP transport it uses, lower case ("ws"/"wss": a browser), never from its SDP.
std::string media_profile_of_transport(std::string_view transport);

// rtpengine's options for an SDP it sends to a party of profile `to`, for media coming from a party of profile
// `from`: WebRTC toward a browser (ICE, UDP/TLS/RTP/SAVPF, rtcp-mux, a=mid; as WEBRTC_ANSWER_FLAGS, no DTLS role:
// dialplane only ever answers a browser, whose offer rtpengine may have met with DTLS already); plain RTP/AVP
// without ICE toward anyone else (DTLS and SDES off, RTCP demultiplexed when the other side is a browser).
// `inject_dtmf` as Kamailio's flags (rtpengine can then play DTMF into the stream).
ng::SdpOptions sdp_options_toward(std::string_view to, std::string_view from, bool inject_dtmf);

}  // namespace dp::core
