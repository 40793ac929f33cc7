#include "core/media_profile.hpp"

namespace dp::core {

std::string media_profile_of_transport(std::string_view transport) {
  if (transport == "ws" || transport == "wss") return std::string(kMediaWebrtc);
  return {};
}

ng::SdpOptions sdp_options_toward(std::string_view to, std::string_view from, bool inject_dtmf) {
  ng::SdpOptions o;
  o.replace = {"origin", "session connection"};
  if (inject_dtmf) o.flags.push_back("inject-DTMF");
  if (to == kMediaWebrtc) {  // WEBRTC_ANSWER_FLAGS: no DTLS role (rtpengine keeps the one it took)
    o.ice = "force";
    o.transport_protocol = "UDP/TLS/RTP/SAVPF";
    o.sdes = {"off"};
    o.rtcp_mux = {"offer"};
    o.flags.push_back("generate-mid");
    return o;
  }
  o.ice = "remove";  // RTP_FLAGS
  if (from == kMediaWebrtc) {  // WEBRTC_PLAIN_FLAGS
    o.transport_protocol = "RTP/AVP";
    o.dtls = "off";
    o.sdes = {"off"};
    o.rtcp_mux = {"demux"};
  }
  return o;
}

}  // namespace dp::core
