#include "core/kamailio_requests.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace dp::core;

TEST_SUITE("kamailio requests") {
  TEST_CASE("an INVITE request becomes a typed struct with the URI hosts taken out") {
    auto body = boost::json::parse(R"({"call_id":"c1@h","cseq":"7","ruri_user":"+15551230000","ruri_host":"pbx.test",
      "to_user":"15551230000","to_uri":"sip:15551230000@to.test:5060;user=phone","from_user":"alice",
      "from_uri":"<sip:alice@from.test;transport=tcp>","from_name":"Alice","src_ip":"192.0.2.1",
      "node":"http://127.0.0.1:5071/RPC","auth_user":"alice"})").as_object();
    auto r = parse_invite_request(body);
    CHECK(r.call_id == "c1@h");
    CHECK(r.cseq == "7");
    CHECK(r.ruri_user == "+15551230000");
    CHECK(r.ruri_host == "pbx.test");
    CHECK(r.to_user == "15551230000");
    CHECK(r.to_host == "to.test");
    CHECK(r.from_user == "alice");
    CHECK(r.from_host == "from.test");
    CHECK(r.from_name == "Alice");
    CHECK(r.src_ip == "192.0.2.1");
    CHECK(r.node == "http://127.0.0.1:5071/RPC");
    CHECK(r.caller_media.empty());  // no proto: plain RTP
    CHECK(r.auth_user == "alice");
    auto empty = parse_invite_request(boost::json::object{{"call_id", 5}});
    CHECK(empty.call_id.empty());  // a mistyped field reads as absent; the session refuses a missing Call-ID
    CHECK(empty.auth_user.empty());  // no credentials checked
  }

  TEST_CASE("an INVITE over a WebSocket comes from a browser: the caller's media profile is webrtc") {
    for (const char* proto : {"ws", "wss"})
      CHECK(parse_invite_request(boost::json::object{{"call_id", "c"}, {"proto", proto}}).caller_media == "webrtc");
    for (const char* proto : {"udp", "tcp", "tls", "sctp", "WS", ""})
      CHECK(parse_invite_request(boost::json::object{{"call_id", "c"}, {"proto", proto}}).caller_media.empty());
  }

  TEST_CASE("a failed-dial request keeps Kamailio's defaults and refuses out-of-range integers") {
    auto r = parse_dial_failed_request(boost::json::parse(
        R"({"call_sid":"s1","dial":"2","leg":1,"code":486,"reason":"Busy Here","timeout":"1"})").as_object());
    CHECK(r.call_sid == "s1");
    CHECK(r.dial == 2);
    CHECK(r.leg == 1);
    CHECK(r.code == 486);
    CHECK(r.reason == "Busy Here");
    CHECK(r.timeout);
    auto d = parse_dial_failed_request(boost::json::parse(R"({"code":99999999999,"leg":-4294967297})").as_object());
    CHECK(d.code == 480);
    CHECK(d.leg == -1);
    CHECK(d.dial == 0);
    CHECK_FALSE(d.timeout);
  }

  TEST_CASE("host_of_uri") {
    CHECK(host_of_uri("sip:bob@example.com:5060;transport=tcp") == "example.com");
    CHECK(host_of_uri("sip:example.com") == "example.com");
    CHECK(host_of_uri("no-scheme") == "");
  }
}
