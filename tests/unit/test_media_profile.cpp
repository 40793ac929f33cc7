// The SDP options dialplane gives rtpengine for its own offers and answers must match Kamailio's profiles
// (kamailio-cfg/kamailio.cfg RTP_FLAGS, WEBRTC_ANSWER_FLAGS, WEBRTC_PLAIN_FLAGS): the caller gets the same SDP
// whether Kamailio or dialplane had rtpengine make it.
#include "core/bencode.hpp"
#include "core/media_profile.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace dp::core;
namespace bc = dp::core::bencode;

namespace {
bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

TEST_SUITE("media profiles") {
  TEST_CASE("the transport decides: ws and wss are browsers, everything else plain") {
    CHECK(media_profile_of_transport("ws") == "webrtc");
    CHECK(media_profile_of_transport("wss") == "webrtc");
    for (const char* t : {"udp", "tcp", "tls", "sctp", ""}) CHECK(media_profile_of_transport(t).empty());
  }

  TEST_CASE("toward a browser: ICE, DTLS-SRTP with no role forced, AVPF, rtcp-mux, a=mid (WEBRTC_ANSWER_FLAGS)") {
    for (const char* from : {"", "webrtc"}) {
      auto o = sdp_options_toward("webrtc", from, true);
      CHECK(o.ice == "force");
      CHECK(o.dtls.empty());  // rtpengine may be in the handshake already: its role stands
      CHECK(o.transport_protocol == "UDP/TLS/RTP/SAVPF");
      CHECK(o.sdes == std::vector<std::string>{"off"});
      CHECK(o.rtcp_mux == std::vector<std::string>{"offer"});
      CHECK(has(o.flags, "generate-mid"));
      CHECK(has(o.flags, "inject-DTMF"));
      CHECK(o.replace == std::vector<std::string>{"origin", "session connection"});
    }
    CHECK_FALSE(has(sdp_options_toward("webrtc", "", false).flags, "inject-DTMF"));
  }

  TEST_CASE("toward a plain party: no ICE; from a browser also RTP/AVP, no DTLS or SDES, RTCP demultiplexed") {
    auto plain = sdp_options_toward("", "", true);  // RTP_FLAGS
    CHECK(plain.ice == "remove");
    CHECK(plain.transport_protocol.empty());
    CHECK(plain.dtls.empty());
    CHECK(plain.rtcp_mux.empty());
    CHECK(plain.flags == std::vector<std::string>{"inject-DTMF"});

    auto from_browser = sdp_options_toward("", "webrtc", false);  // WEBRTC_PLAIN_FLAGS
    CHECK(from_browser.ice == "remove");
    CHECK(from_browser.transport_protocol == "RTP/AVP");
    CHECK(from_browser.dtls == "off");
    CHECK(from_browser.sdes == std::vector<std::string>{"off"});
    CHECK(from_browser.rtcp_mux == std::vector<std::string>{"demux"});
    CHECK(from_browser.flags.empty());
  }

  TEST_CASE("on the wire: an answer toward a browser carries every key rtpengine reads") {
    ng::Answer a{"c1", "ft", "tt", "v=0\r\n", "", "", sdp_options_toward("webrtc", "", false)};
    auto d = ng::to_bencode(a);
    CHECK(*d.find("ICE")->as_string() == "force");
    CHECK(d.find("DTLS") == nullptr);
    CHECK(*d.find("transport protocol")->as_string() == "UDP/TLS/RTP/SAVPF");
    CHECK(bc::encode(*d.find("SDES")) == "l3:offe");
    CHECK(bc::encode(*d.find("rtcp-mux")) == "l5:offere");
    CHECK(bc::encode(*d.find("flags")) == "l12:generate-mide");
  }
}
