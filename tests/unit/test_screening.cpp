#include "core/screening.hpp"

#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

namespace {

CallState ringing_call(int legs) {
  CallState c;
  c.call_sid = "p1";
  c.status = CallStatus::Ringing;
  c.call_status_hook = Hook{"http://h/status", "POST", "", ""};
  Dial d;
  d.seq = 1;
  for (int i = 0; i < legs; ++i) {
    Leg l;
    l.index = i;
    l.call_sid = "c" + std::to_string(i);
    l.status = CallStatus::Ringing;
    l.screened = true;
    d.legs.push_back(l);
  }
  c.dial = d;
  return c;
}

HeldAnswer held(const std::string& contact) { return {contact, "<sip:a@x>;tag=f", "<sip:b@y>;tag=t", "1", "z9.1", "v", "", "sdp"}; }

}  // namespace

TEST_CASE("a held answer puts the leg in progress without answering the caller") {
  auto c = ringing_call(2);
  ScreenEffects fx;
  auto t = on_held(c, 1, 0, "tagB", held("sip:b@1.2.3.4"), 10.0, fx);
  CHECK(t.changed);
  CHECK(fx.bye.empty());
  CHECK(c.dial->legs[0].screening == Screening::Held);
  CHECK(c.dial->legs[0].status == CallStatus::InProgress);
  CHECK(c.dial->legs[0].to_tag == "tagB");
  CHECK(c.dial->winner == -1);
  CHECK(c.status == CallStatus::Ringing);
  REQUIRE(t.webhooks.size() == 1);
  CHECK(t.webhooks[0].payload.at("call_status") == "in-progress");
  CHECK(still_screening(c, 1, 0));
  // a repeat of the same event changes nothing
  auto again = on_held(c, 1, 0, "tagB", held("sip:b@1.2.3.4"), 10.1, fx);
  CHECK_FALSE(again.changed);
}

TEST_CASE("the first accepted leg wins and the other held legs are ended") {
  auto c = ringing_call(3);
  ScreenEffects fx;
  on_held(c, 1, 0, "t0", held("sip:0@x"), 10.0, fx);
  on_held(c, 1, 1, "t1", held("sip:1@x"), 10.5, fx);
  ScreenEffects done;
  auto t = on_screen_accepted(c, 1, 1, 11.0, done);
  CHECK(done.release);
  CHECK(done.bye == std::vector<int>{0});
  CHECK(c.dial->winner == 1);
  CHECK(c.status == CallStatus::InProgress);
  CHECK(c.dial->legs[1].screening == Screening::Accepted);
  CHECK(c.dial->legs[0].screening == Screening::Declined);
  CHECK(c.dial->legs[0].status == CallStatus::Completed);
  CHECK(c.dial->legs[2].status == CallStatus::Ringing);  // tm cancels it
  // the other leg's screening ends later: it can no longer win
  ScreenEffects late;
  auto t2 = on_screen_accepted(c, 1, 0, 11.5, late);
  CHECK_FALSE(late.release);
  CHECK_FALSE(still_screening(c, 1, 0));
}

TEST_CASE("a declined leg ends; when nobody is left the dial fails as no-answer") {
  auto c = ringing_call(1);
  ScreenEffects fx;
  on_held(c, 1, 0, "t0", held("sip:0@x"), 10.0, fx);
  ScreenEffects out;
  auto t = on_screen_declined(c, 1, 0, 11.0, out);
  CHECK(out.bye == std::vector<int>{0});
  CHECK_FALSE(out.release);
  CHECK(c.dial->legs[0].status == CallStatus::Completed);
  CHECK(all_legs_final(c));
  auto failed = on_dial_failed(c, 1, 0, 487, "Request Terminated", false, 11.1);
  CHECK(failed.action_payload.empty());  // no actionHook configured
  CHECK(c.dial->ended);
}

TEST_CASE("a held answer after the dial ended is declined at once") {
  auto c = ringing_call(2);
  c.dial->ended = true;
  ScreenEffects fx;
  on_held(c, 1, 0, "t0", held("sip:0@x"), 10.0, fx);
  CHECK(fx.bye == std::vector<int>{0});
  CHECK(c.dial->legs[0].screening == Screening::Declined);
}

TEST_CASE("keys of a held callee are kept for its gather; other tags are not") {
  auto c = ringing_call(2);
  ScreenEffects fx;
  on_held(c, 1, 0, "t0", held("sip:0@x"), 10.0, fx);
  CHECK(on_screen_dtmf(c, "t0", '1').changed);
  CHECK_FALSE(on_screen_dtmf(c, "other", '2').changed);
  CHECK(c.dial->legs[0].screen_digits == "1");
  on_screen_digits_taken(c, 1, 0, 1);
  CHECK(c.dial->legs[0].screen_digits.empty());
}

TEST_CASE("confirm hooks: the target's first, then the dial's; verbs a confirm app may run") {
  auto verb = json::parse(R"({"confirmHook":"/dial","target":[]})").as_object();
  auto own = json::parse(R"({"type":"sip","confirmHook":"/own"})").as_object();
  auto none = json::parse(R"({"type":"sip"})").as_object();
  CHECK(confirm_hook_of(verb, own)->as_string() == "/own");
  CHECK(confirm_hook_of(verb, none)->as_string() == "/dial");
  CHECK(confirm_hook_of(json::object{}, none) == nullptr);
  CHECK(voicemail_safe(json::parse(R"({"amd":{"voicemailSafe":true}})").as_object()));
  CHECK_FALSE(voicemail_safe(json::parse(R"({"amd":{}})").as_object()));
  auto ok = json::parse(R"([{"verb":"say","text":"hi"},{"verb":"gather"},{"verb":"pause"},{"verb":"tag"}])").as_array();
  CHECK_FALSE(forbidden_confirm_verb(ok));
  auto bad = json::parse(R"([{"verb":"say","text":"hi"},{"verb":"dial"}])").as_array();
  CHECK(forbidden_confirm_verb(bad) == std::optional<std::string>("dial"));
}

TEST_CASE("a held leg survives the store round trip") {
  auto c = ringing_call(1);
  ScreenEffects fx;
  on_held(c, 1, 0, "t0", held("sip:0@x"), 10.0, fx);
  c.dial->legs[0].screen_digits = "12";
  auto back = call_state_from_json(to_json(c));
  const auto& l = back.dial->legs[0];
  CHECK(l.screened);
  CHECK(l.screening == Screening::Held);
  CHECK(l.held.contact == "sip:0@x");
  CHECK(l.held.vias == "v");
  CHECK(l.screen_digits == "12");
}

TEST_CASE("voicemail_safe: only amd.voicemailSafe as a JSON true") {
  auto dial = [](std::string_view j) { return json::parse(j).as_object(); };
  CHECK(voicemail_safe(dial(R"({"amd":{"voicemailSafe":true}})")));
  CHECK_FALSE(voicemail_safe(dial(R"({"amd":{"voicemailSafe":false}})")));
  CHECK_FALSE(voicemail_safe(dial(R"({"amd":{"voicemailSafe":"true"}})")));
  CHECK_FALSE(voicemail_safe(dial(R"({"amd":{}})")));
  CHECK_FALSE(voicemail_safe(dial(R"({"amd":true})")));
  CHECK_FALSE(voicemail_safe(dial(R"({"verb":"dial"})")));
}
