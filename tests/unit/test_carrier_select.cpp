// Pure carrier logic: selection order, LCR longest prefix, gateway order, failover rules, health.
#include "core/carrier_select.hpp"
#include "core/dial_plan.hpp"

#include <doctest/doctest.h>

using namespace dp::core;

namespace {
Carrier carrier(const std::string& sid, const std::string& name, int port = 5060) {
  Carrier c;
  c.carrier_sid = sid;
  c.name = name;
  c.gateways = {{"10.0.0.1", static_cast<uint16_t>(port), "udp", 0, 1}};
  return c;
}
SelectionInput base() {
  SelectionInput in;
  in.number = "+442071234567";
  for (auto* s : {"a", "b", "c", "d"}) in.carriers[s] = carrier(s, std::string("carrier-") + s);
  return in;
}
}  // namespace

TEST_SUITE("carrier selection") {
  TEST_CASE("named trunk wins over everything; a missing trunk is an error") {
    auto in = base();
    in.trunk = "carrier-b";
    in.trunk_carrier = in.carriers["b"];
    in.lcr_routes = {{"r", "acct", "44", {"c"}, ""}};
    in.default_carrier_sid = "d";
    auto s = select_carriers(in);
    REQUIRE(s.carriers.size() == 1);
    CHECK(s.carriers[0].carrier_sid == "b");
    CHECK(s.source == "trunk");
    in.trunk_carrier.reset();
    s = select_carriers(in);
    CHECK(s.carriers.empty());
    CHECK(s.error == "carrier carrier-b not found");
  }

  TEST_CASE("number owner only without an LCR table (jambonz)") {
    auto in = base();
    in.number_owner = in.carriers["a"];
    in.default_carrier_sid = "d";
    CHECK(select_carriers(in).source == "number_owner");
    in.lcr_routes = {{"r", "acct", "44", {"c", "b"}, ""}};
    auto s = select_carriers(in);
    CHECK(s.source == "lcr");
    REQUIRE(s.carriers.size() == 2);
    CHECK(s.carriers[0].carrier_sid == "c");
    CHECK(s.carriers[1].carrier_sid == "b");
  }

  TEST_CASE("LCR longest prefix; '+' ignored; unknown carriers dropped") {
    std::vector<LcrRoute> routes = {{"1", "x", "44", {"a"}, ""}, {"2", "x", "44207", {"b"}, ""},
                                    {"3", "x", "4420", {"c"}, ""}, {"4", "x", "", {"d"}, ""}};
    CHECK(match_lcr(routes, "+442071234567")->lcr_route_sid == "2");
    CHECK(match_lcr(routes, "442081234567")->lcr_route_sid == "3");
    CHECK(match_lcr(routes, "+15551234567")->lcr_route_sid == "4");
    routes.pop_back();
    CHECK(match_lcr(routes, "+15551234567") == nullptr);
    CHECK(match_lcr(routes, "4") == nullptr);  // a prefix longer than the number does not match
    auto in = base();
    in.lcr_routes = {{"r", "x", "44", {"zz", "a"}, ""}};
    auto s = select_carriers(in);
    REQUIRE(s.carriers.size() == 1);
    CHECK(s.carriers[0].carrier_sid == "a");
  }

  TEST_CASE("then the inbound carrier, then the default, else a clear error") {
    auto in = base();
    in.lcr_routes = {{"r", "x", "1", {"a"}, ""}};  // does not match +44...
    in.carriers["c"].source_addresses = {"192.0.2.7"};
    in.inbound_ip = "192.0.2.7";
    in.default_carrier_sid = "d";
    CHECK(select_carriers(in).source == "inbound");
    CHECK(select_carriers(in).carriers[0].carrier_sid == "c");
    in.inbound_ip = "192.0.2.8";
    CHECK(select_carriers(in).source == "default");
    in.default_carrier_sid.clear();
    auto s = select_carriers(in);
    CHECK(s.carriers.empty());
    CHECK(s.error == "no route for +442071234567");
    in.lcr_routes.clear();
    CHECK(select_carriers(in).error == "no carrier for phone target");
  }

  TEST_CASE("gateway order: priority, then weight, then as provisioned") {
    Carrier c;
    c.gateways = {{"g1", 5060, "udp", 2, 1}, {"g2", 5060, "udp", 1, 1}, {"g3", 5060, "udp", 1, 5},
                  {"g4", 5060, "udp", 1, 1}};
    auto g = ordered_gateways(c);
    CHECK(g[0].host == "g3");
    CHECK(g[1].host == "g2");
    CHECK(g[2].host == "g4");
    CHECK(g[3].host == "g1");
    CHECK(gateway_key(g[0]) == "sip:g3:5060;transport=udp");
  }

  TEST_CASE("failover: timeout, 408, 5xx, extra codes; never declines or after early media") {
    Carrier c;
    CHECK(should_failover(503, false, false, c));
    CHECK(should_failover(500, false, false, c));
    CHECK(should_failover(408, false, false, c));
    CHECK(should_failover(408, true, false, c));
    CHECK_FALSE(should_failover(486, false, false, c));
    CHECK_FALSE(should_failover(603, false, false, c));
    CHECK_FALSE(should_failover(600, false, false, c));
    CHECK_FALSE(should_failover(404, false, false, c));
    CHECK_FALSE(should_failover(503, false, true, c));  // early media was heard
    c.no_failover_codes = {503};
    CHECK_FALSE(should_failover(503, false, false, c));
    c.failover_codes = {404};
    CHECK(should_failover(404, false, false, c));
    CHECK(join_codes({486, 600, 603}) == "486,600,603");
    CHECK(join_codes({}) == "");
  }

  TEST_CASE("gateway health") {
    CHECK(gateway_usable(std::nullopt, 100));
    CHECK(gateway_usable(parse_gateway_health("up|90"), 100));
    CHECK_FALSE(gateway_usable(parse_gateway_health("down|90"), 100));
    CHECK(gateway_usable(parse_gateway_health("down|60"), 100));  // stale: nobody pings it any more
    CHECK_FALSE(parse_gateway_health("weird|1"));
    CHECK_FALSE(parse_gateway_health("up"));
  }

  TEST_CASE("a leg with a token goes to the inner hop") {
    Carrier c = carrier("a", "a");
    TargetFacts f;
    f.carrier = c;
    f.leg_token = "tok";
    CallerFacts caller{"+1555", "127.0.0.1", ""};
    boost::json::object phone{{"type", "phone"}, {"number", "+15551234567"}};
    auto leg = plan_leg(0, phone, {}, caller, f);
    REQUIRE(leg.branches.size() == 1);
    CHECK(leg.branches[0].uri == "sip:dpleg-tok@dpleg.invalid");
    CHECK(leg.branches[0].dst.empty());
    boost::json::object sip{{"type", "sip"}, {"sipUri", "sip:bob@127.0.0.1:5090"}, {"proxy", "127.0.0.1:5091"}};
    leg = plan_leg(1, sip, {}, caller, f);
    REQUIRE(leg.branches.size() == 1);
    CHECK(leg.branches[0].uri == "sip:dpleg-tok@dpleg.invalid");
    CHECK(leg.to == "sip:bob@127.0.0.1:5090");
  }
}
