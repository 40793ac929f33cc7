#include <doctest/doctest.h>

#include "core/leg_failover.hpp"

#include <boost/json.hpp>

using namespace dp::core;
namespace json = boost::json;

namespace {
Carrier two_gateway_carrier(const std::string& sid) {
  Carrier c;
  c.carrier_sid = sid;
  Gateway second;
  second.host = "second.test";
  second.priority = 2;
  Gateway first;
  first.host = "first.test";
  first.priority = 1;
  c.gateways = {second, first};
  return c;
}
}  // namespace

TEST_CASE("leg ask: fields of the inner hop's request, defaults when absent") {
  auto a = leg_ask_from_json(json::parse(R"({"token":"t","n":2,"code":503,"reason":"x","timeout":1,"early_media":0})").as_object());
  CHECK(a.token == "t");
  CHECK(a.n == 2);
  CHECK(a.code == 503);
  CHECK(a.reason == "x");
  CHECK(a.timeout);
  CHECK_FALSE(a.early_media);
  auto empty = leg_ask_from_json({});
  CHECK(empty.token.empty());
  CHECK(empty.n == 0);
  CHECK_FALSE(empty.timeout);
}

TEST_CASE("leg replies relay a failure code, else the fallback; reasons are header-safe") {
  LegAsk a;
  a.code = 486;
  a.reason = "Busy\r\nX-Evil: 1";
  auto r = relayed_failure(a, 480);
  CHECK(r.at("action").as_string() == "reply");
  CHECK(r.at("code").as_int64() == 486);
  CHECK(r.at("reason").as_string().find('\r') == json::string::npos);
  a.code = 0;
  CHECK(relayed_failure(a, 503).at("code").as_int64() == 503);
  a.code = 180;
  CHECK(relayed_failure(a, 480).at("code").as_int64() == 480);
}

TEST_CASE("sip legs: one attempt with the plan's credentials, then the failure is relayed") {
  auto plan = json::parse(R"({"type":"sip","uri":"sip:b@x.test","dst":"sip:p.test","auth_user":"u","auth_pass":"p"})").as_object();
  LegAsk first;
  auto a = sip_leg_decision(first, plan);
  CHECK(a.at("action").as_string() == "attempt");
  CHECK(a.at("uri").as_string() == "sip:b@x.test");
  CHECK(a.at("dst").as_string() == "sip:p.test");
  CHECK(a.at("auth_user").as_string() == "u");
  CHECK(a.at("auth_realm").as_string() == "");
  LegAsk later;
  later.n = 1;
  later.code = 401;
  CHECK(sip_leg_decision(later, plan).at("code").as_int64() == 401);
}

TEST_CASE("a leg ends on a decline or early media, fails over on 5xx and timeouts") {
  Carrier c;
  LegAsk a;
  a.code = 486;
  CHECK(leg_ends_after(a, c));
  a.code = 503;
  CHECK_FALSE(leg_ends_after(a, c));
  a.early_media = true;
  CHECK(leg_ends_after(a, c));
  a.early_media = false;
  a.code = 0;
  a.timeout = true;
  CHECK_FALSE(leg_ends_after(a, c));
}

TEST_CASE("gateway sequence: carrier by carrier, each carrier's gateways by priority; skipping a carrier") {
  std::vector<Carrier> carriers{two_gateway_carrier("a"), two_gateway_carrier("b")};
  auto steps = gateway_sequence(carriers);
  REQUIRE(steps.size() == 4);
  CHECK(steps[0].carrier == 0);
  CHECK(steps[0].gateway.host == "first.test");
  CHECK(steps[1].gateway.host == "second.test");
  CHECK(steps[2].carrier == 1);
  CHECK(next_carrier_step(steps, 0) == 2);
  CHECK(next_carrier_step(steps, 1) == 2);
  CHECK(next_carrier_step(steps, 2) == 4);
}

TEST_CASE("why no attempt was possible") {
  CHECK(no_attempt_reason(true, true) == "all carriers at their call limits");
  CHECK(no_attempt_reason(false, true) == "no carrier gateway is up");
  CHECK(no_attempt_reason(false, false) == "no carrier gateway");
}

TEST_CASE("slot members round-trip; a slot is needed while its phone leg is not final") {
  auto m = parse_slot_member(slot_member("sid-1", 2, "+1555", "tok"));
  REQUIRE(m);
  CHECK(m->call_sid == "sid-1");
  CHECK(m->dial == 2);
  CHECK(m->number == "+1555");
  CHECK_FALSE(parse_slot_member("sid|2|num"));

  CHECK_FALSE(slot_still_needed(nullptr, *m));
  CallState c;
  CHECK(slot_still_needed(&c, *m));  // dial not saved yet
  c.dial.emplace();
  c.dial->seq = 1;
  CHECK(slot_still_needed(&c, *m));  // an older dial
  c.dial->seq = 3;
  CHECK_FALSE(slot_still_needed(&c, *m));  // a later dial: this one is over
  c.dial->seq = 2;
  Leg leg;
  leg.type = "phone";
  leg.to = "+1555";
  leg.status = CallStatus::Ringing;
  c.dial->legs.push_back(leg);
  CHECK(slot_still_needed(&c, *m));
  c.dial->legs[0].status = CallStatus::Failed;
  CHECK_FALSE(slot_still_needed(&c, *m));
}
