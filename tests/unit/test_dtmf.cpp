#include "core/dtmf.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace dp::core;

namespace {
// Presses `keys` one after another, `gap_ms` apart, starting at `t0`; returns every match in order.
std::vector<std::string> press_all(DtmfBuffer& buf, const std::string& keys, const std::vector<std::string>& patterns,
                                   long long t0 = 1000, long long gap_ms = 200) {
  std::vector<std::string> out;
  long long t = t0;
  for (char k : keys) {
    auto p = press_dtmf(buf, k, t, patterns);
    buf = p.buffer;
    if (p.matched) out.push_back(*p.matched);
    t += gap_ms;
  }
  return out;
}
}  // namespace

TEST_SUITE("dtmf") {
  TEST_CASE("rtpengine's DTMF log datagram becomes a typed event") {
    std::string err;
    auto ev = parse_rtpengine_dtmf(
        R"({"callid":"abc@h","source_tag":"t-callee","tags":["t-caller","t-callee"],"type":"DTMF",)"
        R"("timestamp":1796215707.25,"event":11,"duration":160,"volume":10})",
        err);
    REQUIRE(ev);
    CHECK(ev->call_id == "abc@h");
    CHECK(ev->source_tag == "t-callee");
    CHECK(ev->key == '#');
    CHECK(ev->duration_ms == 160);
    CHECK(ev->timestamp == doctest::Approx(1796215707.25));
  }

  TEST_CASE("event codes map to keys as RFC 4733 numbers them") {
    CHECK(dtmf_key(0) == '0');
    CHECK(dtmf_key(9) == '9');
    CHECK(dtmf_key(10) == '*');
    CHECK(dtmf_key(11) == '#');
    CHECK(dtmf_key(12) == 'A');
    CHECK(dtmf_key(15) == 'D');
    CHECK(dtmf_key(16) == 0);  // flash
    CHECK(dtmf_key(-1) == 0);
  }

  TEST_CASE("datagrams that are not one key of a known call are refused with a reason") {
    std::string err;
    CHECK_FALSE(parse_rtpengine_dtmf("not json", err));
    CHECK(err == "body: malformed JSON");
    CHECK_FALSE(parse_rtpengine_dtmf(R"({"source_tag":"t","event":1})", err));
    CHECK(err.find("callid") != std::string::npos);
    CHECK_FALSE(parse_rtpengine_dtmf(R"({"callid":"c","source_tag":"t"})", err));
    CHECK(err.find("event code") != std::string::npos);
    CHECK_FALSE(parse_rtpengine_dtmf(R"({"callid":"c","source_tag":"t","event":"5"})", err));
    CHECK_FALSE(parse_rtpengine_dtmf(R"({"callid":"c","source_tag":"t","event":16})", err));
    CHECK(err == "DTMF event code not a key");
    CHECK_FALSE(parse_rtpengine_dtmf(R"({"callid":"c","source_tag":"t","event":1,"type":"other"})", err));
    CHECK(err.find("not a DTMF event") != std::string::npos);
    auto clamped = parse_rtpengine_dtmf(R"({"callid":"c","source_tag":"t","event":1,"duration":-5})", err);
    REQUIRE(clamped);
    CHECK(clamped->duration_ms == 0);
    auto odd_clock = parse_rtpengine_dtmf(R"({"callid":"c","source_tag":"t","event":1,"timestamp":1e300})", err);
    REQUIRE(odd_clock);
    CHECK(odd_clock->timestamp == 1e12);
  }

  TEST_CASE("an array watches both legs; the object form watches each leg with its own patterns") {
    auto both = boost::json::parse(R"(["*1", "##"])");
    auto w = dtmf_watch(&both);
    CHECK(w.parent == std::vector<std::string>{"*1", "##"});
    CHECK(w.child == w.parent);

    auto split = boost::json::parse(R"({"childCall":["*2"],"parentCall":["*9","0"]})");
    w = dtmf_watch(&split);
    CHECK(w.child == std::vector<std::string>{"*2"});
    CHECK(w.parent == std::vector<std::string>{"*9", "0"});  // jambonz puts these on the child: we do not

    auto junk = boost::json::parse(R"({"childCall":["*x", "", 5, "1"]})");
    w = dtmf_watch(&junk);
    CHECK(w.child == std::vector<std::string>{"1"});
    CHECK(w.parent.empty());
    CHECK(dtmf_watch(nullptr).empty());
  }

  TEST_CASE("a match is the collected keys ending with a pattern; the buffer is not cleared by it") {
    DtmfBuffer buf;
    CHECK(press_all(buf, "12*1", {"*1"}) == std::vector<std::string>{"*1"});
    // "…*1" then "1": "*11" does not end with "*1"; "*1" again matches again
    CHECK(press_all(buf, "1*1", {"*1"}, 2000) == std::vector<std::string>{"*1"});
  }

  TEST_CASE("the first pattern in the given order wins when several match") {
    DtmfBuffer buf;
    CHECK(press_all(buf, "*12", {"2", "*12"}) == std::vector<std::string>{"2"});
    buf = {};
    CHECK(press_all(buf, "*12", {"*12", "2"}) == std::vector<std::string>{"*12"});
  }

  TEST_CASE("three seconds of silence restart the buffer; less does not") {
    DtmfBuffer buf;
    auto p = press_dtmf(buf, '*', 1000, {"*1"});
    p = press_dtmf(p.buffer, '1', 1000 + kDtmfInterDigitMs, {"*1"});
    CHECK_FALSE(p.matched);
    CHECK(p.buffer.keys == "1");

    p = press_dtmf({}, '*', 1000, {"*1"});
    p = press_dtmf(p.buffer, '1', 1000 + kDtmfInterDigitMs - 1, {"*1"});
    REQUIRE(p.matched);
    CHECK(*p.matched == "*1");
  }

  TEST_CASE("the buffer keeps only what the longest pattern can need") {
    DtmfBuffer buf;
    press_all(buf, "123456789", {"#", "*123"});
    CHECK(buf.keys == "6789");
    CHECK(buf.last_ms == 1000 + 8 * 200);
    buf = {};
    auto p = press_dtmf(buf, '5', 10, {});
    CHECK_FALSE(p.matched);
    CHECK(p.buffer.keys.empty());
  }
}
