#include "core/registrations.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace dp::core;

TEST_SUITE("registrations") {
  TEST_CASE("Kamailio 5.6's 'not registered' faults are a normal answer, other faults are failures") {
    CHECK(ul_lookup_not_registered(500, "AOR not found in location table"));
    CHECK(ul_lookup_not_registered(500, "AOR has no contacts"));
    CHECK(ul_lookup_not_registered(404, "AOR not found"));
    CHECK(!ul_lookup_not_registered(500, "Domain not found"));
    CHECK(!ul_lookup_not_registered(500, "Internal error creating outer rpc"));
    CHECK(!ul_lookup_not_registered(-32601, "Method Not Found"));
  }

  TEST_CASE("contacts come out of an ul.lookup result, with received or path as the next hop") {
    auto v = boost::json::parse(R"({"AoR":"alice@example.com","Contacts":[
      {"Contact":{"Address":"sip:alice@10.0.0.5:5062","Received":"[not set]","Path":"[not set]"}},
      {"Contact":{"Address":"sip:alice@192.168.1.2:5060","Received":"sip:203.0.113.9:40000","Path":"[not set]"}},
      {"Contact":{"Address":"sip:alice@h;transport=ws","Received":"[not set]","Path":"<sip:edge.example;lr>"}}]})");
    auto cs = contacts_from_ul_lookup(v);
    REQUIRE(cs.size() == 3);
    CHECK(cs[0].uri == "sip:alice@10.0.0.5:5062");
    CHECK(cs[0].dst.empty());
    CHECK(cs[1].dst == "sip:203.0.113.9:40000");
    CHECK(cs[2].dst == "sip:edge.example;lr");
    CHECK(contacts_from_ul_lookup(boost::json::value(nullptr)).empty());
  }

  TEST_CASE("a contact's transport: the received connection's protocol first, then the Contact URI's parameter") {
    auto v = boost::json::parse(R"({"AoR":"bob@example.com","Contacts":[
      {"Contact":{"Address":"sip:x1@df7jal23ls0d.invalid;transport=ws","Received":"sip:127.0.0.1:41234;transport=ws"}},
      {"Contact":{"Address":"sip:x2@a.invalid;transport=WSS;ob","Received":"[not set]"}},
      {"Contact":{"Address":"sip:bob@192.0.2.1:5060","Received":"sip:203.0.113.9:40000"}},
      {"Contact":{"Address":"sip:bob@192.0.2.1:5060;transport=tcp","Received":"[not set]"}},
      {"Contact":{"Address":"<sip:bob@192.0.2.1?X-Hdr=a;transport=ws>","Received":"[not set]"}},
      {"Contact":{"Address":"sip:bob@192.0.2.1;transport=udp","Received":"sip:127.0.0.1:40001;transport=wss"}}]})");
    auto cs = contacts_from_ul_lookup(v);
    REQUIRE(cs.size() == 6);
    CHECK(cs[0].transport == "ws");
    CHECK(cs[1].transport == "wss");  // case folded, stops at the next parameter
    CHECK(cs[2].transport.empty());   // UDP: Kamailio's received URI has no transport
    CHECK(cs[3].transport == "tcp");
    CHECK(cs[4].transport.empty());   // a header, not a URI parameter
    CHECK(cs[5].transport == "wss");  // the connection wins over what the contact claims
  }
}
