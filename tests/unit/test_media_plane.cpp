// Pure pieces of the media plane: the placeholder SDP of dialMusic, the node a call is anchored on, the DTMF
// capture transition, and GET hooks' query strings.
#include "core/dial_machine.hpp"
#include "core/dtmf_capture.hpp"
#include "core/ng_protocol.hpp"
#include "core/sdp.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>
#include <set>

using namespace dp::core;
namespace json = boost::json;

namespace {

const char* kOffer =
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    "m=audio 30002 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
    "m=video 30004 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";

// A bridged call: caller tag "ft", leg 0 answered with tag "tt"; the dial's verb carries `capture`.
CallState bridged(const json::value& capture, const json::value& hook = json::value("/dtmf")) {
  CallState c;
  c.call_sid = "parent-sid";
  c.call_id = "cid@h";
  c.from_tag = "ft";
  c.call_hook.url = "http://app.test/call";
  c.call_hook.username = "u";
  c.call_hook.password = "p";
  c.status = CallStatus::InProgress;
  Dial d;
  d.seq = 1;
  d.verb = json::object{{"verb", "dial"}, {"dtmfCapture", capture}, {"dtmfHook", hook}};
  Leg l;
  l.index = 0;
  l.call_sid = "child-sid";
  l.status = CallStatus::InProgress;
  l.to_tag = "tt";
  d.legs.push_back(l);
  d.winner = 0;
  c.dial = d;
  return c;
}

Transition key(CallState& c, const std::string& tag, char k, long long at_ms) {
  DtmfEvent e;
  e.call_id = c.call_id;
  e.source_tag = tag;
  e.key = k;
  return on_dtmf(c, e, at_ms, static_cast<double>(at_ms) / 1000);
}

}  // namespace

TEST_SUITE("media plane") {
  TEST_CASE("placeholder answer: the offer's first audio codec plus telephone-event, to the discard port") {
    auto sdp = placeholder_answer_sdp(kOffer);
    REQUIRE(sdp);
    CHECK(sdp->find("m=audio 9 RTP/AVP 8 101\r\n") != std::string::npos);
    CHECK(sdp->find("a=rtpmap:8 PCMA/8000\r\n") != std::string::npos);
    CHECK(sdp->find("a=fmtp:101 0-16\r\n") != std::string::npos);
    CHECK(sdp->find("PCMU") == std::string::npos);
    CHECK(sdp->find("video") == std::string::npos);
    CHECK(sdp->find("c=IN IP4 127.0.0.1\r\n") != std::string::npos);
  }

  TEST_CASE("placeholder answer: no audio, or only telephone-event, gives none") {
    CHECK_FALSE(placeholder_answer_sdp("v=0\r\nm=video 1 RTP/AVP 96\r\n"));
    CHECK_FALSE(placeholder_answer_sdp("v=0\r\nm=audio 1 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n"));
    CHECK_FALSE(placeholder_answer_sdp(""));
    // LF-only line ends and a static payload type without rtpmap still work
    auto sdp = placeholder_answer_sdp("v=0\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n");
    REQUIRE(sdp);
    CHECK(sdp->find("m=audio 9 RTP/AVP 0\r\n") != std::string::npos);
  }

  TEST_CASE("node_for_call: stable, in range, and spreads calls") {
    CHECK(ng::node_for_call("abc", 1) == 0);
    CHECK(ng::node_for_call("abc", 3) == ng::node_for_call("abc", 3));
    std::set<std::size_t> seen;
    for (int i = 0; i < 64; ++i) {
      auto n = ng::node_for_call("call-" + std::to_string(i) + "@host", 4);
      CHECK(n < 4);
      seen.insert(n);
    }
    CHECK(seen.size() == 4);
  }

  TEST_CASE("dtmf capture: array form watches both legs, the hook carries the pressing leg's call info") {
    auto c = bridged(json::array{"*1", "#"});
    CHECK(key(c, "tt", '*', 1000).webhooks.empty());
    auto t = key(c, "tt", '1', 1200);
    REQUIRE(t.webhooks.size() == 1);
    const auto& n = t.webhooks[0];
    CHECK(kind_name(n) == "dtmf");
    CHECK(n.hook.url == "http://app.test/dtmf");
    CHECK(n.hook.username == "u");  // jambonz authenticates every hook with the application's credentials
    CHECK(json::value_to<std::string>(n.payload.at("dtmf")) == "*1");
    CHECK(json::value_to<std::string>(n.payload.at("call_sid")) == "child-sid");
    CHECK(json::value_to<std::string>(n.payload.at("parent_call_sid")) == "parent-sid");
    auto p = key(c, "ft", '#', 1300);
    REQUIRE(p.webhooks.size() == 1);
    CHECK(json::value_to<std::string>(p.webhooks[0].payload.at("call_sid")) == "parent-sid");
    CHECK_FALSE(p.webhooks[0].payload.contains("parent_call_sid"));
    // each leg keeps its own buffer in the state
    CHECK(c.dial->dtmf_child.keys == "*1");
    CHECK(c.dial->dtmf_parent.keys == "#");
  }

  TEST_CASE("dtmf capture: object form puts parentCall patterns on the caller (not on the child, as jambonz)") {
    auto c = bridged(json::object{{"childCall", json::array{"1"}}, {"parentCall", json::array{"2"}}});
    CHECK(key(c, "tt", '2', 1000).webhooks.empty());
    CHECK(key(c, "ft", '1', 1100).webhooks.empty());
    CHECK(key(c, "ft", '2', 1200).webhooks.size() == 1);
    CHECK(key(c, "tt", '1', 1300).webhooks.size() == 1);
  }

  TEST_CASE("dtmf capture: nothing before the bridge, from an unknown tag, or without a dtmfHook") {
    auto ringing = bridged(json::array{"1"});
    ringing.status = CallStatus::Ringing;
    ringing.dial->winner = -1;
    CHECK_FALSE(key(ringing, "ft", '1', 1000).changed);
    auto c = bridged(json::array{"1"});
    CHECK_FALSE(key(c, "someone-else", '1', 1000).changed);
    auto no_hook = bridged(json::array{"1"}, json::value(nullptr));
    CHECK_FALSE(key(no_hook, "ft", '1', 1000).changed);
  }

  TEST_CASE("dtmf capture: 3 s between keys restarts the buffer") {
    auto c = bridged(json::array{"12"});
    key(c, "ft", '1', 1000);
    CHECK(key(c, "ft", '2', 4100).webhooks.empty());
    key(c, "ft", '1', 4200);
    CHECK(key(c, "ft", '2', 4400).webhooks.size() == 1);
  }

  TEST_CASE("url_with_query: scalars as text, objects as JSON, before the fragment") {
    json::object p{{"dtmf", "*1"}, {"call_sid", "a b"}, {"n", 3}, {"x", json::object{{"k", 1}}}, {"z", nullptr}};
    auto u = url_with_query("http://h/dtmf#rc=2", p);
    CHECK(u == "http://h/dtmf?dtmf=%2A1&call_sid=a%20b&n=3&x=%7B%22k%22%3A1%7D#rc=2");
    CHECK(url_with_query("http://h/d?t=1", {{"a", "b"}}) == "http://h/d?t=1&a=b");
    CHECK(url_with_query("http://h/d", {}) == "http://h/d");
  }

  TEST_CASE("resolve_media_url: the app's credentials only for the call_hook's origin") {
    Hook call_hook;
    call_hook.url = "https://app.test:8443/call";
    call_hook.username = "u";
    call_hook.password = "p";
    json::value same = "https://app.test:8443/music.wav";
    json::value other = "https://cdn.test/music.wav";
    json::value relative = "/hold.mp3";
    json::value own = "https://x:y@cdn.test/music.wav";
    CHECK(resolve_media_url(&same, call_hook)->username == "u");
    CHECK(resolve_media_url(&other, call_hook)->username.empty());
    auto r = resolve_media_url(&relative, call_hook);
    CHECK(r->url == "https://app.test:8443/hold.mp3");
    CHECK(r->username == "u");
    auto o = resolve_media_url(&own, call_hook);
    CHECK(o->username == "x");
    CHECK(o->url == "https://cdn.test/music.wav");
  }
}
