#include "core/teams.hpp"

#include "core/carrier_select.hpp"

#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

TEST_SUITE("teams") {
  TEST_CASE("default proxies: sip, sip2, sip3 .pstnhub.microsoft.com over TLS 5061, in that order") {
    auto p = default_teams_proxies();
    REQUIRE(p.size() == 3);
    CHECK(p[0].host == "sip.pstnhub.microsoft.com");
    CHECK(p[2].host == "sip3.pstnhub.microsoft.com");
    CHECK(teams_dst(p[1]) == "sip:sip2.pstnhub.microsoft.com:5061;transport=tls");
    CHECK(teams_gateway(p[0]).options_ping);
  }

  TEST_CASE("--teams-proxies: HOST[:PORT][=ADDR:PORT]") {
    std::string err;
    auto p = parse_teams_proxies("sip.pstnhub.microsoft.com=127.0.0.1:36093,SIP2.pstnhub.microsoft.com:5062", err);
    REQUIRE(p);
    REQUIRE(p->size() == 2);
    CHECK((*p)[0].host == "sip.pstnhub.microsoft.com");
    CHECK(teams_dst((*p)[0]) == "sip:127.0.0.1:36093;transport=tls");
    CHECK((*p)[1].host == "sip2.pstnhub.microsoft.com");
    CHECK(teams_dst((*p)[1]) == "sip:sip2.pstnhub.microsoft.com:5062;transport=tls");
    for (const char* bad : {"", "sip.pstnhub.microsoft.com:0", "a b", "127.0.0.1:5061", "x=", "x=1.2.3:5",
                            "sip.pstnhub.microsoft.com:70000", "h,"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_teams_proxies(bad, err));
      CHECK_FALSE(err.empty());
    }
  }

  TEST_CASE("failover by health: the first proxy not reported down recently") {
    auto p = default_teams_proxies();
    std::map<std::string, std::string> h;
    CHECK(first_usable_proxy(p, h, 1000)->host == "sip.pstnhub.microsoft.com");  // never pinged: usable
    h[teams_dst(p[0])] = "down|995";
    h[teams_dst(p[1])] = "up|995";
    CHECK(first_usable_proxy(p, h, 1000)->host == "sip2.pstnhub.microsoft.com");
    h[teams_dst(p[1])] = "down|999";
    CHECK(first_usable_proxy(p, h, 1000)->host == "sip3.pstnhub.microsoft.com");
    h[teams_dst(p[2])] = "down|999";
    CHECK_FALSE(first_usable_proxy(p, h, 1000));
    CHECK(first_usable_proxy(p, h, 1000 + kHealthStaleS + 5)->host == "sip.pstnhub.microsoft.com");  // stale
  }

  TEST_CASE("numbers become +E.164") {
    CHECK(teams_e164("+14255550100") == "+14255550100");
    CHECK(teams_e164("14255550100") == "+14255550100");
    CHECK_FALSE(teams_e164("+"));
    CHECK_FALSE(teams_e164("+1425555010012345"));
    CHECK_FALSE(teams_e164("1425*"));
    CHECK_FALSE(teams_e164("sip:x"));
  }

  TEST_CASE("Request-URI, Contact, From host, X-MS-SBC") {
    TeamsProxy p{"sip.pstnhub.microsoft.com", "127.0.0.1", 36093};
    CHECK(teams_request_uri("+1", p, false) == "sip:+1@sip.pstnhub.microsoft.com;user=phone");
    CHECK(teams_request_uri("+1", p, true) == "sip:+1@sip.pstnhub.microsoft.com;user=phone;opaque=app:voicemail");
    Account a;
    a.teams_sbc_fqdn = "sbc.example.com";
    a.teams_sbc_port = 5067;
    CHECK(teams_contact("+1555", a) == "<sip:+1555@sbc.example.com:5067;transport=tls>");
    CHECK(teams_from_host("", a) == "sbc.example.com");
    a.teams_tenant_fqdn = "contoso.com";
    CHECK(teams_from_host("", a) == "contoso.com");
    CHECK(teams_from_host("fabrikam.com", a) == "fabrikam.com");
    CHECK(teams_sbc_header().rfind("X-MS-SBC: ", 0) == 0);
    CHECK(is_fqdn("sbc.example.com"));
    CHECK_FALSE(is_fqdn("localhost"));
    CHECK_FALSE(is_fqdn("10.0.0.1"));
  }

  TEST_CASE("account Teams settings are validated at the edge") {
    std::string err;
    auto ok = account_from_json(json::parse(R"({"name":"a","teams_sbc_fqdn":"SBC.Example.com","teams_sbc_port":5067,
                                                "teams_tenant_fqdn":"contoso.com"})"), err);
    REQUIRE(ok);
    CHECK(ok->teams_sbc_fqdn == "sbc.example.com");
    CHECK(ok->teams_sbc_port == 5067);
    CHECK(ok->teams_tenant_fqdn == "contoso.com");
    auto round = account_from_json(to_json(*ok), err);
    REQUIRE(round);
    CHECK(round->teams_sbc_port == 5067);
    auto plain = account_from_json(json::parse(R"({"name":"a"})"), err);
    REQUIRE(plain);
    CHECK(plain->teams_sbc_fqdn.empty());
    CHECK(plain->teams_sbc_port == 5061);

    struct Bad {
      const char* body;
      const char* err;
    };
    for (const Bad& b : {Bad{R"({"name":"a","teams_sbc_fqdn":"10.0.0.1"})", "teams_sbc_fqdn: must be a hostname"},
                         Bad{R"({"name":"a","teams_sbc_fqdn":"localhost"})",
                             "teams_sbc_fqdn: must be a fully qualified domain name (sbc.example.com)"},
                         Bad{R"({"name":"a","teams_tenant_fqdn":"contoso.com"})",
                             "teams_tenant_fqdn: needs teams_sbc_fqdn (the SBC paired with the tenant)"},
                         Bad{R"({"name":"a","teams_sbc_fqdn":"s.example.com","teams_sbc_port":0})",
                             "teams_sbc_port: must be an integer between 1 and 65535"},
                         Bad{R"({"name":"a","teams_sbc_fqdn":"s.example.com","teams_tenant_fqdn":"x"})",
                             "teams_tenant_fqdn: must be a fully qualified domain name (contoso.com)"}}) {
      CAPTURE(b.body);
      err.clear();
      CHECK_FALSE(account_from_json(json::parse(b.body), err));
      CHECK(err == b.err);
    }
  }
}
