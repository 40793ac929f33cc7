#include "core/refer.hpp"

#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

namespace {

const char* kRefer =
    "REFER sip:+15551110000@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1\r\n"
    "From: <sip:callee@127.0.0.1:5080>;tag=calleetag\r\n"
    "To: <sip:+15551110000@127.0.0.1>;tag=callertag\r\n"
    "Call-ID: abc@127.0.0.1\r\n"
    "CSeq: 2 REFER\r\n"
    "r: <sip:+15551234567@pbx.example.com;user=phone>\r\n"
    "Referred-By: \"Bob\" <sip:bob@pbx.example.com>\r\n"
    "User-Agent: sipp\r\n"
    "X-Call-Number: 42\r\n"
    "x-Trace: a\r\n"
    "  b\r\n"
    "Content-Length: 0\r\n"
    "\r\n"
    "X-Not-A-Header: body\r\n";

CallState bridged() {
  CallState c;
  c.call_sid = "parent";
  c.from_tag = "callertag";
  Dial d;
  Leg l0, l1;
  l0.index = 0;
  l0.call_sid = "child0";
  l1.index = 1;
  l1.call_sid = "child1";
  l1.to_tag = "calleetag";
  d.legs = {l0, l1};
  d.winner = 1;
  c.dial = d;
  return c;
}

}  // namespace

TEST_SUITE("refer") {
  TEST_CASE("the head of a REFER: compact names expanded, folded lines joined, body and start line skipped") {
    auto head = parse_sip_head(kRefer);
    REQUIRE(head.size() == 11);
    CHECK(head[0].first == "Via");
    CHECK(head[5].first == "Refer-To");
    CHECK(head[9] == std::pair<std::string, std::string>{"x-Trace", "a b"});
    CHECK(parse_sip_head("").empty());
    CHECK(parse_sip_head("REFER sip:x SIP/2.0\r\nnot a header\r\n: nor this\r\nA: 1").size() == 1);
  }

  TEST_CASE("a REFER request parsed once: the headers a referHook needs") {
    json::object body{{"call_id", "abc@127.0.0.1"}, {"call_sid", "parent"}, {"from_tag", "calleetag"},
                      {"to_tag", "callertag"}, {"cseq", "2"}, {"msg", kRefer}};
    auto r = parse_refer_request(body);
    CHECK(r.refer_to == "<sip:+15551234567@pbx.example.com;user=phone>");
    CHECK(r.referred_by == "\"Bob\" <sip:bob@pbx.example.com>");
    CHECK(r.user_agent == "sipp");
    CHECK_FALSE(r.refer_sub_false);
    REQUIRE(r.x_headers.size() == 2);
    CHECK(r.x_headers[0].first == "X-Call-Number");
    body["msg"] = "REFER sip:x SIP/2.0\r\nRefer-Sub: False\r\n\r\n";
    CHECK(parse_refer_request(body).refer_sub_false);
    CHECK(parse_refer_request(json::object{}).refer_to.empty());
  }

  TEST_CASE("refer_to_user: the number of tel:, the user of sip:/sips:, nothing otherwise") {
    CHECK(refer_user("<sip:+15551234567@pbx.example.com;user=phone>") == "+15551234567");
    CHECK(refer_user("sips:alice;x=1@example.com") == "alice");
    CHECK(refer_user("<sip:alice:secret@example.com>") == "alice");
    CHECK(refer_user("<tel:+15551234567;phone-context=x>") == "+15551234567");
    CHECK(refer_user("\"Bob\" <sip:bob@pbx.example.com?Replaces=abc>") == "bob");
    CHECK(refer_user("<sip:example.com>").empty());
    CHECK(refer_user("<http://example.com/x>").empty());
    CHECK(refer_user("").empty());
  }

  TEST_CASE("who referred whom: the caller's tag or the winner's") {
    auto c = bridged();
    ReferRequest r;
    r.from_tag = "calleetag";
    auto p = refer_parties(c, r);
    REQUIRE(p);
    CHECK(p->from_callee);
    CHECK(p->leg == 1);
    CHECK(p->referring_sid == "child1");
    CHECK(p->referred_sid == "parent");
    r.from_tag = "callertag";
    p = refer_parties(c, r);
    REQUIRE(p);
    CHECK_FALSE(p->from_callee);
    CHECK(p->referring_sid == "parent");
    CHECK(p->referred_sid == "child1");
    r.from_tag = "someone-else";
    CHECK_FALSE(refer_parties(c, r));
    r.from_tag = "";
    CHECK_FALSE(refer_parties(c, r));
    c.dial->winner = -1;
    r.from_tag = "callertag";
    CHECK_FALSE(refer_parties(c, r));
  }

  TEST_CASE("refer_details as jambonz: raw headers, users, both sids, X-* snake_cased") {
    json::object body{{"from_tag", "calleetag"}, {"msg", kRefer}};
    auto r = parse_refer_request(body);
    auto p = refer_parties(bridged(), r);
    REQUIRE(p);
    auto d = refer_details(r, *p);
    CHECK(d.at("sip_refer_to") == "<sip:+15551234567@pbx.example.com;user=phone>");
    CHECK(d.at("refer_to_user") == "+15551234567");
    CHECK(d.at("sip_referred_by") == "\"Bob\" <sip:bob@pbx.example.com>");
    CHECK(d.at("referred_by_user") == "bob");
    CHECK(d.at("sip_user_agent") == "sipp");
    CHECK(d.at("referring_call_sid") == "child1");
    CHECK(d.at("referred_call_sid") == "parent");
    CHECK(d.at("x_call_number") == "42");
    CHECK(d.at("x_trace") == "a b");
    r.referred_by.clear();
    r.user_agent.clear();
    d = refer_details(r, *p);
    CHECK_FALSE(d.contains("sip_referred_by"));
    CHECK_FALSE(d.contains("referred_by_user"));
    CHECK_FALSE(d.contains("sip_user_agent"));
  }

  TEST_CASE("answers: 202 on acceptance (Refer-Sub echoed), the hook's 4xx-6xx, else 501; always an X-Reason") {
    ReferRequest r;
    auto a = refer_accepted(r);
    CHECK(a.code == 202);
    CHECK(a.hdrs.empty());
    r.refer_sub_false = true;
    CHECK(refer_accepted(r).hdrs == "Refer-Sub: false\r\n");
    auto n = refer_refused(404, "referHook answered 404");
    CHECK(n.code == 404);
    CHECK(n.reason == "Not Found");
    CHECK(n.hdrs == "X-Reason: referHook answered 404\r\n");
    CHECK(refer_refused(0, "no referHook").code == 501);
    CHECK(refer_refused(302, "x").code == 501);
    CHECK(refer_refused(700, "x").code == 501);
    CHECK(refer_refused(603, "x").code == 603);
    CHECK(refer_refused(500, "bad\r\nInjected: 1").hdrs.find("\r\nInjected") == std::string::npos);
    CHECK(to_json(n).at("code") == 404);
  }
}
