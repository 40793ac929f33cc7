#include "core/dial_plan.hpp"

#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

namespace {
json::object obj(std::string_view s) { return json::parse(s).as_object(); }
const CallerFacts kCaller{"+15551230000", "10.0.0.1", "Alice"};
}  // namespace

TEST_SUITE("dial plan") {
  TEST_CASE("targets are de-duplicated per type key and capped at 10") {
    json::array t;
    t.push_back(obj(R"({"type":"phone","number":"+1"})"));
    t.push_back(obj(R"({"type":"phone","number":"+1","trunk":"x"})"));
    t.push_back(obj(R"({"type":"teams","number":"+1"})"));
    t.push_back(obj(R"({"type":"user","name":"bob"})"));
    t.push_back(obj(R"({"type":"user","name":"bob"})"));
    t.push_back(obj(R"({"type":"sip","sipUri":"sip:a@b"})"));
    CHECK(unique_targets(t).size() == 4);
    json::array many;
    for (int i = 0; i < 14; ++i) many.push_back(json::object{{"type", "phone"}, {"number", "+1" + std::to_string(i)}});
    CHECK(unique_targets(many).size() == 10);
  }

  TEST_CASE("sip target: URI as given, caller id and name, merged headers") {
    auto dial = obj(R"({"verb":"dial","callerId":"+15550001111","callerName":"Front Desk",
                        "headers":{"X-A":"1","X-B":"dial"}})");
    auto target = obj(R"({"type":"sip","sipUri":"sip:bob@127.0.0.1:5090","headers":{"x-b":"target"}})");
    auto leg = plan_leg(2, target, dial, kCaller, {});
    CHECK(leg.fail_code == 0);
    REQUIRE(leg.branches.size() == 1);
    const auto& b = leg.branches[0];
    CHECK(b.leg == 2);
    CHECK(b.uri == "sip:bob@127.0.0.1:5090");
    CHECK(b.dst.empty());
    CHECK(b.from_uri == "sip:+15550001111@10.0.0.1");
    CHECK(b.from_name == "Front Desk");
    CHECK(b.hdrs == "X-A: 1\r\nx-b: target\r\n");
    CHECK(leg.from_user == "+15550001111");
  }

  TEST_CASE("target.from overrides caller id user and host") {
    auto leg = plan_leg(0, obj(R"({"type":"sip","sipUri":"sip:b@h","from":{"user":"sales","host":"corp.example"}})"),
                        obj(R"({"verb":"dial","callerId":"+1"})"), kCaller, {});
    CHECK(leg.branches[0].from_uri == "sip:sales@corp.example");
  }

  TEST_CASE("sip target with proxy and unsafe URIs") {
    auto ok = plan_leg(0, obj(R"({"type":"sip","sipUri":"sip:b@h","proxy":"10.1.1.1:5080"})"), obj("{}"), kCaller, {});
    CHECK(ok.branches[0].dst == "sip:10.1.1.1:5080");
    CHECK(plan_leg(0, obj(R"({"type":"sip","sipUri":"sip:b@h\r\nX: y"})"), obj("{}"), kCaller, {}).fail_code == 400);
    CHECK(plan_leg(0, obj(R"({"type":"sip","sipUri":"tel:+1555"})"), obj("{}"), kCaller, {}).fail_code == 400);
    CHECK(plan_leg(0, obj(R"({"type":"sip","sipUri":"sip:<b@h>"})"), obj("{}"), kCaller, {}).fail_code == 400);
  }

  TEST_CASE("phone target through a carrier gateway") {
    Carrier car;
    car.name = "westco";
    car.tech_prefix = "99";
    car.from_domain = "trunk.example";
    car.gateways = {{"10.0.0.9", 5060, "udp", 5, 1}, {"10.0.0.8", 5070, "tcp", 1, 1}};
    TargetFacts f;
    f.carrier = car;
    auto leg = plan_leg(0, obj(R"({"type":"phone","number":"+15557654321","trunk":"westco"})"),
                        obj(R"({"verb":"dial","callerId":"+15550001111"})"), kCaller, f);
    REQUIRE(leg.branches.size() == 1);
    CHECK(leg.branches[0].uri == "sip:9915557654321@10.0.0.8:5070;transport=tcp");
    CHECK(leg.branches[0].from_uri == "sip:+15550001111@trunk.example");
    car.e164_leading_plus = true;
    car.tech_prefix.clear();
    CHECK(phone_uri(car, car.gateways[0], "15557654321") == "sip:+15557654321@10.0.0.9:5060");
  }

  TEST_CASE("phone target failures") {
    CHECK(plan_leg(0, obj(R"({"type":"phone","number":"+1555"})"), obj("{}"), kCaller, {}).fail_code == 503);
    TargetFacts f;
    f.carrier = Carrier{};
    CHECK(plan_leg(0, obj(R"({"type":"phone","number":"+1555"})"), obj("{}"), kCaller, f).fail_reason ==
          "carrier has no gateway");
    CHECK(plan_leg(0, obj(R"({"type":"phone","number":"abc"})"), obj("{}"), kCaller, f).fail_code == 484);
    TargetFacts e;
    e.error = "carrier nope not found";
    auto leg = plan_leg(0, obj(R"({"type":"phone","number":"+1555","trunk":"nope"})"), obj("{}"), kCaller, e);
    CHECK(leg.fail_code == 503);
    CHECK(leg.fail_reason == "carrier nope not found");
    CHECK(leg.to == "+1555");
  }

  TEST_CASE("user target forks to every registered contact") {
    TargetFacts f;
    f.contacts = {{"sip:bob@127.0.0.1:5091", "", ""}, {"sip:bob@192.0.2.1:5062", "sip:127.0.0.1:5062", ""}};
    auto leg = plan_leg(1, obj(R"({"type":"user","name":"bob@demo.local"})"), obj("{}"), kCaller, f);
    REQUIRE(leg.branches.size() == 2);
    CHECK(leg.branches[1].dst == "sip:127.0.0.1:5062");
    CHECK(leg.branches[1].leg == 1);
    auto none = plan_leg(1, obj(R"({"type":"user","name":"bob"})"), obj("{}"), kCaller, {});
    CHECK(none.fail_code == 404);
    CHECK(user_aor(obj(R"({"name":"bob"})"), "demo.local") == "bob@demo.local");
    CHECK(user_aor(obj(R"({"name":"sip:bob@x"})"), "demo.local") == "bob@x");
  }

  TEST_CASE("a user's branches get their rtpengine profile from the contact's transport: WebRTC for ws/wss only") {
    CHECK(contact_media_profile({"sip:a@h", "", "ws"}) == "webrtc");
    CHECK(contact_media_profile({"sip:a@h", "", "wss"}) == "webrtc");
    CHECK(contact_media_profile({"sip:a@h", "", "udp"}).empty());
    CHECK(contact_media_profile({"sip:a@h", "", "tcp"}).empty());
    CHECK(contact_media_profile({"sip:a@h", "", "tls"}).empty());
    CHECK(contact_media_profile({"sip:a@h", "", ""}).empty());

    // one simring: the SIP phone and the browser of the same user, each with its own media profile
    TargetFacts f;
    f.contacts = {{"sip:bob@127.0.0.1:5091", "", ""},
                  {"sip:k3j2@a1b2.invalid;transport=ws", "sip:127.0.0.1:40312;transport=ws", "ws"},
                  {"sip:bob@127.0.0.1:5093;transport=tcp", "", "tcp"}};
    auto leg = plan_leg(2, obj(R"({"type":"user","name":"bob@demo.local"})"), obj("{}"), kCaller, f);
    REQUIRE(leg.branches.size() == 3);
    CHECK(leg.branches[0].media.empty());
    CHECK(leg.branches[1].media == "webrtc");
    CHECK(leg.branches[1].uri == "sip:k3j2@a1b2.invalid;transport=ws");
    CHECK(leg.branches[1].dst == "sip:127.0.0.1:40312;transport=ws");
    CHECK(leg.branches[2].media.empty());
    for (const auto& b : leg.branches) CHECK(b.leg == 2);
  }

  TEST_CASE("teams targets fail clearly until configured") {
    auto leg = plan_leg(0, obj(R"({"type":"teams","number":"+1"})"), obj("{}"), kCaller, {});
    CHECK(leg.fail_code == 503);
    CHECK(leg.fail_reason == "teams is not configured for this account (teams_sbc_fqdn)");
  }

  TEST_CASE("teams target: Direct Routing Request-URI, From at the tenant, Contact at the SBC FQDN") {
    TargetFacts f;
    Account a;
    a.teams_sbc_fqdn = "sbc.example.com";
    a.teams_tenant_fqdn = "contoso.com";
    f.teams_account = a;
    f.teams_proxy = default_teams_proxies()[0];
    auto dial = obj(R"({"verb":"dial","callerId":"+15550001111","headers":{"X-A":"1"}})");
    auto leg = plan_leg(1, obj(R"({"type":"teams","number":"+14255550100","vmail":true})"), dial, kCaller, f);
    REQUIRE(leg.fail_code == 0);
    REQUIRE(leg.branches.size() == 1);
    const auto& b = leg.branches[0];
    CHECK(b.uri == "sip:+14255550100@sip.pstnhub.microsoft.com;user=phone;opaque=app:voicemail");
    CHECK(b.dst == "sip:sip.pstnhub.microsoft.com:5061;transport=tls");
    CHECK(b.from_uri == "sip:+15550001111@contoso.com");
    CHECK(b.contact == "<sip:+15550001111@sbc.example.com:5061;transport=tls>");
    CHECK(b.media == "teams");
    CHECK(b.hdrs == "X-A: 1\r\nX-MS-SBC: dialplane/Kamailio/5.6\r\n");

    // the documented `voicemail` works too; no vmail: no opaque; `tenant` wins over the account's default
    auto vm = plan_leg(0, obj(R"({"type":"teams","number":"14255550100","voicemail":true})"), dial, kCaller, f);
    CHECK(vm.branches[0].uri == "sip:+14255550100@sip.pstnhub.microsoft.com;user=phone;opaque=app:voicemail");
    auto plain = plan_leg(0, obj(R"({"type":"teams","number":"+14255550100","tenant":"fabrikam.com"})"), dial,
                          kCaller, f);
    CHECK(plain.branches[0].uri == "sip:+14255550100@sip.pstnhub.microsoft.com;user=phone");
    CHECK(plain.branches[0].from_uri == "sip:+15550001111@fabrikam.com");
    // no tenant anywhere: the SBC FQDN
    f.teams_account->teams_tenant_fqdn.clear();
    CHECK(plan_leg(0, obj(R"({"type":"teams","number":"+1"})"), dial, kCaller, f).branches[0].from_uri ==
          "sip:+15550001111@sbc.example.com");
  }

  TEST_CASE("teams target failures: bad number, bad tenant, no healthy proxy") {
    TargetFacts f;
    Account a;
    a.teams_sbc_fqdn = "sbc.example.com";
    f.teams_account = a;
    f.teams_proxy = default_teams_proxies()[1];
    auto bad_number = plan_leg(0, obj(R"({"type":"teams","number":"+1 425 x"})"), obj("{}"), kCaller, f);
    CHECK(bad_number.fail_code == 484);
    auto bad_tenant = plan_leg(0, obj(R"({"type":"teams","number":"+1","tenant":"10.0.0.1"})"), obj("{}"), kCaller, f);
    CHECK(bad_tenant.fail_code == 400);
    f.teams_proxy.reset();
    auto down = plan_leg(0, obj(R"({"type":"teams","number":"+1"})"), obj("{}"), kCaller, f);
    CHECK(down.fail_code == 503);
    CHECK(down.fail_reason == "no Microsoft Teams proxy answers OPTIONS");
    CHECK(down.branches.empty());
  }

  TEST_CASE("caller id and display name are escaped") {
    auto leg = plan_leg(0, obj(R"({"type":"sip","sipUri":"sip:b@h"})"),
                        obj(R"({"verb":"dial","callerId":"a b@c","callerName":"Evil \"Name\"\r\n"})"), kCaller, {});
    CHECK(leg.branches[0].from_uri == "sip:a%20b%40c@10.0.0.1");
    CHECK(leg.branches[0].from_name == "Evil \\\"Name\\\"");
  }
}
