// POST /kamailio/leg (leg_decision) over fakes: the inner hop of a phone leg walks its carriers' gateways in
// order, skipping gateways reported down and carriers at their limits, holding one carrier slot at a time.
#include <doctest/doctest.h>

#include "app/api/internal/leg_api.hpp"
#include "app_world.hpp"
#include "io/clock.hpp"

namespace json = boost::json;
using namespace dp::test;

namespace {

const std::string kToken = "leg-token-1";
const std::string kNumber = "+15550001111";
const std::string kCallSid = "0f0e0d0c-0000-4000-8000-0000000000c1";

struct LegWorld : AppWorld {
  LegWorld(std::vector<std::string> carriers = {kCarrierA, kCarrierB}) {
    json::array sids;
    for (const auto& c : carriers) sids.push_back(json::value(c));
    prov.leg_plans[kToken] = {{"call_sid", kCallSid}, {"dial", 1},        {"type", "phone"},
                              {"number", kNumber},    {"carriers", sids}, {"source", "default"}};
  }
  // The inner hop's n-th ask: after attempt n failed with `code`.
  json::object ask(int n, int code = 0, const std::string& reason = "", bool timeout = false, bool early = false) {
    json::object req{{"node", kNode}, {"token", kToken},      {"n", n},
                     {"code", code},  {"reason", reason},     {"timeout", timeout ? 1 : 0},
                     {"early_media", early ? 1 : 0}};
    return run(dp::app::leg_decision(prov, calls, req));
  }
  const json::object& plan() { return prov.leg_plans.at(kToken); }
  std::string member() const { return kCallSid + "|1|" + kNumber + "|" + kToken; }
  void limit(const std::string& sid, int max_calls) {
    auto c = run(prov.carrier(sid));
    c->max_calls = max_calls;
    prov.add(*c);
  }
  // A call of which `member` is a live phone leg (slot holders are checked against the call store).
  void live_call(const std::string& call_sid, const std::string& number) {
    dp::core::CallState c;
    c.call_sid = call_sid;
    c.call_id = call_sid + "@test";
    c.dial.emplace();
    c.dial->seq = 1;
    dp::core::Leg leg;
    leg.type = "phone";
    leg.to = number;
    leg.status = dp::core::CallStatus::Ringing;
    c.dial->legs.push_back(leg);
    REQUIRE(calls.apply(c, 0, false, {}, {}, 0));
  }
};

void check_attempt(const json::object& d, const std::string& uri) {
  CHECK(str_of(d, "action") == "attempt");
  CHECK(str_of(d, "uri") == uri);
  CHECK(str_of(d, "nofo") == "486,600,603");
  CHECK(str_of(d, "fo") == "");
}

void check_reply(const json::object& d, int code, const std::string& reason) {
  CHECK(str_of(d, "action") == "reply");
  CHECK(int_of(d, "code") == code);
  CHECK(str_of(d, "reason") == reason);
}

}  // namespace

TEST_CASE("leg: gateways are tried in order across carriers, then the last failure is relayed") {
  LegWorld w;
  check_attempt(w.ask(0), "sip:15550001111@gw-a1.test:5060");
  CHECK(int_of(w.plan(), "next") == 1);
  CHECK(str_of(w.plan(), "last_carrier") == kCarrierA);
  check_attempt(w.ask(1, 503, "Service Unavailable"), "sip:15550001111@gw-a2.test:5060");
  check_attempt(w.ask(2, 408, "Request Timeout", true), "sip:15550001111@gw-b1.test:5060");
  CHECK(str_of(w.plan(), "last_carrier") == kCarrierB);
  check_reply(w.ask(3, 500, "Server Error"), 500, "Server Error");
  CHECK(int_of(w.plan(), "next") == 3);
  check_reply(w.ask(4, 0, "", true), 503, "");  // timed out with nothing left: 503
  check_reply(w.ask(5, 0, ""), 480, "");        // no failure code that fails over: 480
}

TEST_CASE("leg: a decline, a non-failover code or early media ends the leg on the first carrier") {
  {
    LegWorld w;
    w.ask(0);
    check_reply(w.ask(1, 486, "Busy Here"), 486, "Busy Here");
    CHECK(int_of(w.plan(), "next") == 1);  // the cursor did not move
  }
  {
    LegWorld w;
    w.ask(0);
    check_reply(w.ask(1, 404, "Not Found"), 404, "Not Found");
  }
  {
    LegWorld w;
    w.ask(0);
    check_reply(w.ask(1, 503, "Service Unavailable", false, true), 503, "Service Unavailable");
  }
  {
    LegWorld w;  // a carrier's own failover codes extend the rule
    auto c = w.run(w.prov.carrier(kCarrierA));
    c->failover_codes = {404};
    w.prov.add(*c);
    auto first = w.ask(0);
    CHECK(str_of(first, "fo") == "404");
    CHECK(str_of(w.ask(1, 404, "Not Found"), "uri") == "sip:15550001111@gw-a2.test:5060");
  }
}

TEST_CASE("leg: gateways reported down recently are skipped; stale reports are ignored") {
  LegWorld w;
  double now = dp::io::wall_now();
  w.prov.health["sip:gw-a1.test:5060;transport=udp"] = "down|" + std::to_string(static_cast<long long>(now));
  w.prov.health["sip:gw-a2.test:5060;transport=udp"] = "down|" + std::to_string(static_cast<long long>(now - 120));
  check_attempt(w.ask(0), "sip:15550001111@gw-a2.test:5060");
  CHECK(int_of(w.plan(), "next") == 2);

  LegWorld all_down({kCarrierA});
  all_down.prov.health = w.prov.health;
  all_down.prov.health["sip:gw-a2.test:5060;transport=udp"] = "down|" + std::to_string(static_cast<long long>(now));
  check_reply(all_down.ask(0), 503, "no carrier gateway is up");
}

TEST_CASE("leg: a carrier at max_calls is skipped; slots of calls that are gone are reclaimed") {
  LegWorld w;
  w.limit(kCarrierA, 1);
  const std::string other_sid = "0f0e0d0c-0000-4000-8000-0000000000c2";
  w.live_call(other_sid, "+15559990000");
  w.prov.slots[kCarrierA][other_sid + "|1|+15559990000|t2"] = dp::io::wall_now() + 600;
  check_attempt(w.ask(0), "sip:15550001111@gw-b1.test:5060");  // both of A's gateways skipped
  CHECK(w.prov.slots[kCarrierA].count(w.member()) == 0);

  LegWorld gone;
  gone.limit(kCarrierA, 1);
  gone.prov.slots[kCarrierA]["0f0e0d0c-0000-4000-8000-0000000000c3|1|+15559990000|t3"] = dp::io::wall_now() + 600;
  check_attempt(gone.ask(0), "sip:15550001111@gw-a1.test:5060");
  CHECK(gone.prov.slots[kCarrierA].size() == 1);
  CHECK(gone.prov.slots[kCarrierA].count(gone.member()) == 1);
  CHECK(str_of(gone.plan(), "held") == kCarrierA);
}

TEST_CASE("leg: one slot is held at a time and released when the leg moves on or ends") {
  LegWorld w;
  w.limit(kCarrierA, 5);
  w.limit(kCarrierB, 5);
  w.ask(0);
  CHECK(w.prov.slots[kCarrierA].count(w.member()) == 1);
  w.ask(1, 503, "Service Unavailable");  // A's second gateway: the same slot
  CHECK(w.prov.slots[kCarrierA].count(w.member()) == 1);
  w.ask(2, 503, "Service Unavailable");  // carrier B
  CHECK(w.prov.slots[kCarrierA].count(w.member()) == 0);
  CHECK(w.prov.slots[kCarrierB].count(w.member()) == 1);
  CHECK(str_of(w.plan(), "held") == kCarrierB);
  check_reply(w.ask(3, 486, "Busy Here"), 486, "Busy Here");
  CHECK(w.prov.slots[kCarrierB].count(w.member()) == 0);
  CHECK(str_of(w.plan(), "held") == "");
}

TEST_CASE("leg: every carrier at its limits") {
  LegWorld w;
  w.limit(kCarrierA, 1);
  w.limit(kCarrierB, 1);
  const std::string other_sid = "0f0e0d0c-0000-4000-8000-0000000000c2";
  w.live_call(other_sid, "+15559990000");
  for (const auto& c : {kCarrierA, kCarrierB})
    w.prov.slots[c][other_sid + "|1|+15559990000|t2"] = dp::io::wall_now() + 600;
  check_reply(w.ask(0), 503, "all carriers at their call limits");
}

TEST_CASE("leg: a sip target with auth is one attempt; bad tokens are refused") {
  LegWorld w;
  w.prov.leg_plans["sip-token"] = {{"call_sid", kCallSid}, {"dial", 1}, {"type", "sip"},
                                   {"uri", "sip:bob@example.net"}, {"dst", "sip:proxy.example.net"},
                                   {"auth_user", "bob"}, {"auth_pass", "s3cret"}};
  json::object req{{"token", "sip-token"}, {"n", 0}};
  auto first = w.run(dp::app::leg_decision(w.prov, w.calls, req));
  CHECK(str_of(first, "action") == "attempt");
  CHECK(str_of(first, "uri") == "sip:bob@example.net");
  CHECK(str_of(first, "dst") == "sip:proxy.example.net");
  CHECK(str_of(first, "auth_user") == "bob");
  CHECK(str_of(first, "auth_pass") == "s3cret");
  json::object again{{"token", "sip-token"}, {"n", 1}, {"code", 401}, {"reason", "Unauthorized"}};
  check_reply(w.run(dp::app::leg_decision(w.prov, w.calls, again)), 401, "Unauthorized");

  json::object no_token{{"n", 0}};
  check_reply(w.run(dp::app::leg_decision(w.prov, w.calls, no_token)), 500, "leg token missing");
  json::object unknown{{"token", "nope"}, {"n", 0}};
  check_reply(w.run(dp::app::leg_decision(w.prov, w.calls, unknown)), 503, "leg plan not found");
}
