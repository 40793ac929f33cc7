// The call session's media plane over fakes: dialMusic's NG sequence and its fallbacks, the rtpengine node a
// call is anchored on, and DTMF keys becoming dtmfHooks.
#include <doctest/doctest.h>

#include "app_world.hpp"
#include "core/ng_protocol.hpp"

namespace json = boost::json;
namespace ng = dp::core::ng;
using namespace dp::test;

namespace {

const char* kSdp = kCallerSdp;
const char* kMusic = "https://cdn.test/hold.mp3";

json::object invite_with_sdp(const std::string& call_id, const std::string& sdp = kSdp) {
  auto r = AppWorld::invite_request(call_id);
  r["from_tag"] = "caller-tag";
  r["sdp"] = sdp;
  return r;
}

json::value music_app(const std::string& music = kMusic) {
  json::object dial{{"verb", "dial"},
                    {"actionHook", "/action"},
                    {"dialMusic", music},
                    {"target", json::array{json::object{{"type", "sip"}, {"sipUri", "sip:bob@example.net"}}}}};
  return json::array{dial};
}

template <class T>
const T& as(const RecordedNg& s) {
  return std::get<T>(s.request);
}

}  // namespace

TEST_CASE("dialMusic: offer, placeholder answer, looped play to the caller, and the 183's SDP in the fork") {
  AppWorld w;
  w.files.answer_fetch(kMusic, {true, "/media/abc.mp3", "mp3", {}});
  w.hooks.answer_json(kCallHook, music_app());
  auto d = w.invite_body(invite_with_sdp("music-1@caller.test"));
  REQUIRE(str_of(d, "action") == "fork");

  using C = ng::Command;
  REQUIRE(w.media.commands() == std::vector<C>{C::Offer, C::Answer, C::PlayMedia});
  auto node = w.media.requests[0].node.spec;
  CHECK((node == "udp:127.0.0.1:22222" || node == "udp:127.0.0.2:22222"));
  for (const auto& s : w.media.requests) CHECK(s.node.spec == node);  // every command to the call's node
  CHECK(int_of(d, "rtp_set") == (node == "udp:127.0.0.1:22222" ? 0 : 1));  // Kamailio's set = the node's index

  const auto& offer = as<ng::Offer>(w.media.requests[0]);
  CHECK(offer.call_id == "music-1@caller.test");
  CHECK(offer.from_tag == "caller-tag");
  CHECK(offer.sdp == kSdp);
  const auto& answer = as<ng::Answer>(w.media.requests[1]);
  CHECK(answer.to_tag.rfind("dpmusic-", 0) == 0);
  CHECK(answer.sdp.find("m=audio 9 RTP/AVP 0 101") != std::string::npos);
  const auto& play = as<ng::PlayMedia>(w.media.requests[2]);
  CHECK(play.to.value == "caller-tag");
  CHECK(play.file == "/media/abc.mp3");
  CHECK(play.repeat_times == 1000);

  // the 183 carries rtpengine's answer for the caller; a third-party host never gets the app's credentials
  CHECK(str_of(d, "early_sdp").find("c=IN IP4 127.0.0.9") != std::string::npos);
  REQUIRE(w.files.fetched.size() == 1);
  CHECK(w.files.fetched[0].url == kMusic);
  CHECK(w.files.fetched[0].username.empty());
  auto stored = w.calls.stored(str_of(d, "call_sid"));
  CHECK(stored->state.dial->music_file == "/media/abc.mp3");
}

TEST_CASE("dialMusic that cannot play: the dial rings without it (no 183 SDP), and the metric says why") {
  SUBCASE("the file does not download") {
    AppWorld w;
    w.files.fail_fetch(kMusic, "HTTP 404");
    w.hooks.answer_json(kCallHook, music_app());
    auto d = w.invite_body(invite_with_sdp("music-2@caller.test"));
    CHECK(str_of(d, "action") == "fork");
    CHECK_FALSE(d.contains("early_sdp"));
    CHECK(w.media.requests.empty());
  }
  SUBCASE("rtpengine refuses the play") {
    AppWorld w;
    w.files.answer_fetch(kMusic, {true, "/media/abc.mp3", "mp3", {}});
    dp::io::NgResult refused;
    refused.kind = dp::io::NgResult::Kind::RtpengineError;
    refused.reply.error_reason = "Failed to start media playback";
    w.media.scripted[ng::Command::PlayMedia] = refused;
    w.hooks.answer_json(kCallHook, music_app());
    auto d = w.invite_body(invite_with_sdp("music-3@caller.test"));
    CHECK(str_of(d, "action") == "fork");
    CHECK_FALSE(d.contains("early_sdp"));
  }
  SUBCASE("the INVITE has no SDP (late offer)") {
    AppWorld w;
    w.files.answer_fetch(kMusic, {true, "/media/abc.mp3", "mp3", {}});
    w.hooks.answer_json(kCallHook, music_app());
    auto d = w.invite_body(invite_with_sdp("music-4@caller.test", ""));
    CHECK(str_of(d, "action") == "fork");
    CHECK_FALSE(d.contains("early_sdp"));
    CHECK(w.media.requests.empty());
    CHECK(w.files.fetched.empty());
  }
}

TEST_CASE("a DTMF key from rtpengine on a bridged call fires the dtmfHook once, with the pressing leg's sid") {
  AppWorld w;
  json::object dial{{"verb", "dial"},
                    {"dtmfCapture", json::array{"12"}},
                    {"dtmfHook", "/dtmf"},
                    {"target", json::array{json::object{{"type", "sip"}, {"sipUri", "sip:bob@example.net"}}}}};
  w.hooks.answer_json(kCallHook, json::array{dial});
  auto d = w.invite_body(invite_with_sdp("dtmf-1@caller.test"));
  auto sid = str_of(d, "call_sid");
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 200}, {"reason", "OK"}, {"to_tag", "callee-tag"}}});
  auto key = [&](const std::string& tag, char k) {
    dp::core::DtmfEvent e;
    e.call_id = "dtmf-1@caller.test";
    e.source_tag = tag;
    e.key = k;
    w.run(w.flow.dtmf(e));
  };
  key("callee-tag", '1');
  key("callee-tag", '2');
  key("caller-tag", '2');  // the caller's buffer is its own: "2" alone matches nothing
  dp::core::DtmfEvent stray;
  stray.call_id = "unknown@x";
  stray.source_tag = "t";
  stray.key = '1';
  w.run(w.flow.dtmf(stray));
  w.deliver_webhooks();
  auto hooks = w.hooks.of_kind("dtmf");
  REQUIRE(hooks.size() == 1);
  CHECK(hooks[0]->hook.url == "http://app.test/dtmf");
  CHECK(str_of(hooks[0]->payload, "dtmf") == "12");
  CHECK(str_of(hooks[0]->payload, "parent_call_sid") == sid);
}
