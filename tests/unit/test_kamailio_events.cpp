#include "core/kamailio_events.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

TEST_SUITE("kamailio events") {
  TEST_CASE("a batch is parsed once into typed events") {
    auto body = json::parse(R"({"node":"http://k:5071/RPC","boot":"17","events":[
      {"seq":4,"ev":"reply","ts":"1700000000.250000","call_id":"c@h","call_sid":"s","dial":2,"leg":1,"code":183,
       "reason":"Session Progress","sdp":true,"to_tag":"t"},
      {"seq":5,"ev":"dialog_start","ts":"1700000001.5","call_id":"c@h","call_sid":"s","dial":2,"leg":1,
       "h_entry":12,"h_id":34},
      {"seq":6,"ev":"cancel","call_id":"c@h","call_sid":"","dial":0},
      {"seq":7,"ev":"something_new"},
      42]})").as_object();
    auto b = parse_event_batch(body, 99.0);
    REQUIRE(b);
    CHECK(b->source == "http://k:5071/RPC|17");
    REQUIRE(b->events.size() == 4);
    const auto& r = b->events[0];
    CHECK(r.kind == EventKind::Reply);
    CHECK(r.seq == 4);
    CHECK(r.ts == doctest::Approx(1700000000.25));
    CHECK(r.dial == 2);
    CHECK(r.leg == 1);
    CHECK(r.code == 183);
    CHECK(r.sdp);
    CHECK(b->events[1].kind == EventKind::DialogStart);
    CHECK(b->events[1].h_entry == 12);
    CHECK(b->events[1].h_id == 34);
    CHECK(b->events[2].kind == EventKind::CallerGone);
    CHECK(b->events[2].ts == 99.0);  // no ts: the time it arrived
    CHECK(b->events[3].kind == EventKind::Unknown);
    CHECK(to_string(b->events[3].kind) == "unknown");  // never an attacker-chosen metric label
    CHECK(!parse_event_batch(json::object{{"node", "x"}}, 0));
  }

  TEST_CASE("applying an event: de-duplicated by source and seq, then the state machine") {
    CallState c;
    c.call_sid = "s";
    c.call_status_hook = {"http://h/status", "POST", "", ""};
    Dial d;
    d.seq = 1;
    Leg l;
    l.call_sid = "leg";
    l.branches = 1;
    d.legs.push_back(l);
    c.dial = d;
    KamailioEvent e;
    e.kind = EventKind::Reply;
    e.seq = 3;
    e.dial = 1;
    e.leg = 0;
    e.code = 180;
    e.ts = 1;
    bool fresh = false;
    ScreenEffects fx;
    auto t = apply_event(c, "n|1", e, fresh, fx);
    CHECK(fresh);
    CHECK(t.webhooks.size() == 1);
    t = apply_event(c, "n|1", e, fresh, fx);
    CHECK(!fresh);
    CHECK(!t.changed);
    e.kind = EventKind::Unknown;
    e.seq = 4;
    t = apply_event(c, "n|1", e, fresh, fx);
    CHECK(fresh);
    CHECK(t.changed);  // only the remembered seq
    CHECK(t.webhooks.empty());
  }
}
