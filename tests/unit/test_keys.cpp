// The Redis key schema (app/store/keys.hpp) spells exactly the keys of docs/redis-keys.md: Kamailio and
// existing data depend on these strings.
#include <doctest/doctest.h>

#include "app/store/keys.hpp"

using dp::app::Keys;

TEST_CASE("Keys: every family under the default prefix") {
  Keys k;
  CHECK(k.prefix() == "dp:");
  CHECK(k.account("ac1") == "dp:account:ac1");
  CHECK(k.accounts() == "dp:accounts");
  CHECK(k.application("ap1") == "dp:application:ap1");
  CHECK(k.applications() == "dp:applications");
  CHECK(k.number("15550100000") == "dp:number:15550100000");
  CHECK(k.numbers() == "dp:numbers");
  CHECK(k.domain("sip.example.com") == "dp:domain:sip.example.com");
  CHECK(k.domains() == "dp:domains");
  CHECK(k.carrier("c1") == "dp:carrier:c1");
  CHECK(k.carriers() == "dp:carriers");
  CHECK(k.carrier_name("ac1", "trunk a") == "dp:carrier-name:ac1:trunk a");
  CHECK(k.carrier_name_stem() == "dp:carrier-name:");
  CHECK(k.sip_user("sip.example.com:alice") == "dp:sipuser:sip.example.com:alice");
  CHECK(k.sip_users() == "dp:sipusers");
  CHECK(k.lcr_route("l1") == "dp:lcr:l1");
  CHECK(k.lcr_routes() == "dp:lcrs");
  CHECK(k.ping_gateways() == "dp:gateways");
  CHECK(k.gateway_health() == "dp:gwhealth");
  CHECK(k.leg_plan("tok") == "dp:leg:tok");
  CHECK(k.carrier_calls("c1") == "dp:carrier-calls:c1");
  CHECK(k.carrier_cps("c1", "1700000000") == "dp:carrier-cps:c1:1700000000");
  CHECK(k.call("CA1") == "dp:call:CA1");
  CHECK(k.calls_pattern() == "dp:call:*");
  CHECK(k.call_id("abc@host") == "dp:callid:abc@host");
  CHECK(k.child("L1") == "dp:child:L1");
  CHECK(k.children("CA1") == "dp:children:CA1");
  CHECK(k.account_calls("A1") == "dp:account-calls:A1");
  CHECK(k.timers() == "dp:timers");
  CHECK(k.outbox("CA1") == "dp:outbox:CA1");
  CHECK(k.outbox_due() == "dp:outbox-due");
}

TEST_CASE("Keys: --redis-prefix applies to every family") {
  Keys k("t1:");
  CHECK(k.account("a") == "t1:account:a");
  CHECK(k.carrier_name("a", "n") == "t1:carrier-name:a:n");
  CHECK(k.carrier_cps("c", "1") == "t1:carrier-cps:c:1");
  CHECK(k.calls_pattern() == "t1:call:*");
  CHECK(k.outbox_due() == "t1:outbox-due");
  CHECK(k.timers() == "t1:timers");
}
