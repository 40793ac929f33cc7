// Who may start a call under --inbound-auth (jambonz's SBC: carriers by source address, devices by digest auth).
#include "core/inbound_admission.hpp"

#include <doctest/doctest.h>

using namespace dp::core;

namespace {
InboundCaller caller(bool carrier_address, bool websocket, std::string auth_user = {},
                     std::optional<std::string> auth_account = std::nullopt) {
  InboundCaller c;
  c.from_carrier_address = carrier_address;
  c.over_websocket = websocket;
  c.auth_user = std::move(auth_user);
  c.auth_user_account = std::move(auth_account);
  c.called_account = "acct-1";
  return c;
}
}  // namespace

TEST_SUITE("inbound admission") {
  TEST_CASE("the option's values") {
    CHECK(parse_inbound_auth("off") == InboundAuth::Off);
    CHECK(parse_inbound_auth("devices") == InboundAuth::Devices);
    for (const char* bad : {"", "on", "Devices", "carriers", "off "}) CHECK_FALSE(parse_inbound_auth(bad));
  }

  TEST_CASE("off: everyone in, whatever they sent") {
    for (bool carrier : {false, true})
      for (bool ws : {false, true})
        CHECK(admit_inbound(InboundAuth::Off, caller(carrier, ws, "bob", "acct-2")).what == Admission::Admit);
  }

  TEST_CASE("devices: a carrier of the called account by source address is let in without credentials") {
    auto d = admit_inbound(InboundAuth::Devices, caller(true, false));
    CHECK(d.what == Admission::Admit);
    CHECK(d.why == "carrier");
  }

  TEST_CASE("devices: anyone else without credentials is challenged, a browser on a carrier's address too") {
    CHECK(admit_inbound(InboundAuth::Devices, caller(false, false)).what == Admission::Challenge);
    CHECK(admit_inbound(InboundAuth::Devices, caller(false, true)).what == Admission::Challenge);
    auto browser = admit_inbound(InboundAuth::Devices, caller(true, true));
    CHECK(browser.what == Admission::Challenge);
    CHECK(browser.why == "a browser (WebSocket): credentials required");
  }

  TEST_CASE("devices: an authenticated SIP user calls into its own account only") {
    CHECK(admit_inbound(InboundAuth::Devices, caller(false, true, "bob", "acct-1")).what == Admission::Admit);
    auto other = admit_inbound(InboundAuth::Devices, caller(false, false, "bob", "acct-2"));
    CHECK(other.what == Admission::Refuse);
    CHECK(other.why == "user bob is not of the called account");
    // deleted between Kamailio's check and this lookup
    auto gone = admit_inbound(InboundAuth::Devices, caller(false, false, "bob"));
    CHECK(gone.what == Admission::Refuse);
    CHECK(gone.why == "unknown user bob");
    // credentials are judged even from a carrier's address: a user of another account stays refused
    CHECK(admit_inbound(InboundAuth::Devices, caller(true, false, "bob", "acct-2")).what == Admission::Refuse);
  }
}
