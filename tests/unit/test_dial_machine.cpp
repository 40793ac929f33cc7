#include "core/dial_machine.hpp"

#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

namespace {

CallState make_call(int legs, json::object verb = {}) {
  CallState c;
  c.call_sid = "parent-sid";
  c.account_sid = "acct";
  c.application_sid = "app";
  c.call_id = "cid@host";
  c.from = "+15551230000";
  c.to = "+15559870000";
  c.call_hook = {"http://127.0.0.1:3100/call_hook", "POST", "u", "p"};
  c.call_status_hook = {"http://127.0.0.1:3100/status", "POST", "", ""};
  Dial d;
  d.seq = 1;
  if (verb.empty()) verb = {{"verb", "dial"}, {"actionHook", "/action"}};
  d.verb = verb;
  for (int i = 0; i < legs; ++i) {
    Leg l;
    l.index = i;
    l.call_sid = "leg-" + std::to_string(i);
    l.type = "sip";
    l.to = "sip:t" + std::to_string(i) + "@x";
    l.from = c.from;
    l.branches = 1;
    d.legs.push_back(l);
  }
  c.dial = d;
  return c;
}

std::vector<std::string> statuses(const Transition& t) {
  std::vector<std::string> out;
  for (const auto& w : t.webhooks)
    out.push_back(std::string(w.payload.at("call_sid").as_string()) + ":" +
                  std::string(w.payload.at("call_status").as_string()));
  return out;
}

}  // namespace

TEST_SUITE("dial machine") {
  TEST_CASE("jambonz SIP-to-status mapping") {
    CHECK(status_for_sip(100, false) == CallStatus::Trying);
    CHECK(status_for_sip(180, false) == CallStatus::Ringing);
    CHECK(status_for_sip(183, false) == CallStatus::Ringing);
    CHECK(status_for_sip(183, true) == CallStatus::EarlyMedia);
    CHECK(status_for_sip(180, true) == CallStatus::EarlyMedia);
    CHECK(status_for_sip(181, false) == CallStatus::Ringing);
    CHECK(status_for_sip(200, true) == CallStatus::InProgress);
    CHECK(status_for_sip(487, false) == CallStatus::NoAnswer);
    CHECK(status_for_sip(486, false) == CallStatus::Busy);
    CHECK(status_for_sip(600, false) == CallStatus::Busy);
    CHECK(status_for_sip(603, false) == CallStatus::Failed);
    CHECK(status_for_sip(404, false) == CallStatus::Failed);
    CHECK(status_for_sip(503, false) == CallStatus::Failed);
  }

  TEST_CASE("a status webhook per change, none for repeats") {
    auto c = make_call(1);
    auto t = on_reply(c, 1, 0, 180, "Ringing", false, 10.0);
    CHECK(statuses(t) == std::vector<std::string>{"leg-0:ringing"});
    CHECK(t.changed);
    t = on_reply(c, 1, 0, 180, "Ringing", false, 10.1);
    CHECK(t.webhooks.empty());
    t = on_reply(c, 1, 0, 183, "Session Progress", true, 10.2);
    CHECK(statuses(t) == std::vector<std::string>{"leg-0:early-media"});
  }

  TEST_CASE("first answer wins, parent goes in-progress, losers end no-answer") {
    auto c = make_call(3);
    on_reply(c, 1, 0, 180, "Ringing", false, 1);
    on_reply(c, 1, 1, 180, "Ringing", false, 1);
    auto busy = on_reply(c, 1, 2, 486, "Busy Here", false, 1.5);
    CHECK(statuses(busy) == std::vector<std::string>{"leg-2:busy"});
    auto ans = on_reply(c, 1, 0, 200, "OK", true, 3);
    REQUIRE(ans.webhooks.size() == 2);
    CHECK(statuses(ans)[0] == "leg-0:in-progress");
    CHECK(statuses(ans)[1] == "parent-sid:in-progress");
    CHECK(c.dial->winner == 0);
    CHECK(c.status == CallStatus::InProgress);
    auto lost = on_reply(c, 1, 1, 487, "Request Terminated", false, 3.1);
    CHECK(statuses(lost) == std::vector<std::string>{"leg-1:no-answer"});
    CHECK(!lost.action_hook);
  }

  TEST_CASE("dialog end completes the winner and fires the actionHook with completed/200") {
    auto c = make_call(2);
    on_reply(c, 1, 1, 200, "OK", true, 100);
    auto start = on_dialog_start(c, 1, 1, 123, 456, 100.01);
    CHECK(c.h_entry == 123);
    CHECK(c.h_id == 456);
    CHECK(start.webhooks.empty());
    auto end = on_dialog_end(c, 107.4);
    CHECK(end.call_ended);
    REQUIRE(end.action_hook);
    CHECK(end.action_hook->url == "http://127.0.0.1:3100/action");
    CHECK(end.action_hook->username == "u");  // the application's credentials
    CHECK(!end.action_response_matters);
    CHECK(end.action_payload.at("dial_call_status") == "completed");
    CHECK(end.action_payload.at("dial_sip_status") == 200);
    CHECK(end.action_payload.at("dial_call_sid") == "leg-1");
    CHECK(end.action_payload.at("dial_sbc_callid") == "cid@host");
    CHECK(end.action_payload.at("call_sid") == "parent-sid");
    auto sts = statuses(end);
    CHECK(std::find(sts.begin(), sts.end(), "leg-0:no-answer") != sts.end());
    CHECK(std::find(sts.begin(), sts.end(), "leg-1:completed") != sts.end());
    CHECK(sts.back() == "parent-sid:completed");
    // the winner's duration counts from its answer
    for (const auto& w : end.webhooks)
      if (w.payload.at("call_sid") == "leg-1") CHECK(w.payload.at("duration") == 7);
  }

  TEST_CASE("all legs fail: the actionHook carries the last failure") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 486, "Busy Here", false, 5.0);
    on_reply(c, 1, 1, 404, "Not Found", false, 6.0);
    auto t = on_dial_failed(c, 1, 0, 486, "Busy Here", false, 6.1);
    REQUIRE(t.action_hook);
    CHECK(t.action_response_matters);
    CHECK(t.action_payload.at("dial_call_status") == "failed");
    CHECK(t.action_payload.at("dial_sip_status") == 404);
    CHECK(t.action_payload.at("dial_call_sid") == "leg-1");
    CHECK(t.action_payload.at("dial_sip_reason") == "Not Found");
    CHECK(c.dial->ended);
  }

  TEST_CASE("ring timeout reports no-answer/487 and finishes ringing legs") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 180, "Ringing", false, 1);
    auto t = on_dial_failed(c, 1, 0, 408, "Request Timeout", true, 4);
    CHECK(statuses(t) == std::vector<std::string>{"leg-0:no-answer", "leg-1:no-answer"});
    CHECK(t.action_payload.at("dial_call_status") == "no-answer");
    CHECK(t.action_payload.at("dial_sip_status") == 487);
  }

  TEST_CASE("a branch timeout after ringing is the ring timeout: no-answer/487; without ringing: failed/408") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 180, "Ringing", false, 1);
    auto rang = on_branch_timeout(c, 1, 0, 4);
    CHECK(statuses(rang) == std::vector<std::string>{"leg-0:no-answer"});
    CHECK(c.dial->legs[0].sip_status == 487);
    // the 487 that follows the CANCEL changes nothing
    CHECK(on_reply(c, 1, 0, 487, "Request Terminated", false, 4.01).webhooks.empty());
    auto silent = on_branch_timeout(c, 1, 1, 4);
    CHECK(statuses(silent) == std::vector<std::string>{"leg-1:failed"});
    CHECK(c.dial->legs[1].sip_status == 408);
  }

  TEST_CASE("legs whose events have not arrived take the picked failure") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 486, "Busy Here", false, 5.0);
    auto t = on_dial_failed(c, 1, 1, 503, "Service Unavailable", false, 5.5);
    CHECK(statuses(t) == std::vector<std::string>{"leg-1:failed"});
    CHECK(t.action_payload.at("dial_sip_status") == 503);
  }

  TEST_CASE("events of an older dial, unknown legs and late events are ignored") {
    auto c = make_call(1);
    CHECK(!on_reply(c, 2, 0, 180, "Ringing", false, 1).changed);
    CHECK(!on_reply(c, 1, 7, 180, "Ringing", false, 1).changed);
    on_dial_failed(c, 1, 0, 486, "Busy Here", false, 2);
    CHECK(!on_reply(c, 1, 0, 200, "OK", true, 3).changed);
    CHECK(!on_dial_failed(c, 1, 0, 486, "Busy Here", false, 3).action_hook);
  }

  TEST_CASE("a leg forked to several contacts fails only with its last branch") {
    auto c = make_call(1);
    c.dial->legs[0].branches = 2;
    auto first = on_reply(c, 1, 0, 486, "Busy Here", false, 1);
    CHECK(first.webhooks.empty());
    CHECK(c.dial->legs[0].status == CallStatus::Trying);
    auto second = on_reply(c, 1, 0, 480, "Temporarily Unavailable", false, 2);
    CHECK(statuses(second) == std::vector<std::string>{"leg-0:failed"});
  }

  TEST_CASE("caller cancel ends every leg and still sends the actionHook") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 180, "Ringing", false, 1);
    auto t = on_caller_cancel(c, 2);
    CHECK(t.call_ended);
    REQUIRE(t.action_hook);
    CHECK(!t.action_response_matters);
    CHECK(t.action_payload.at("dial_call_status") == "no-answer");
    CHECK(t.action_payload.at("dial_sip_status") == 487);
    CHECK(statuses(t) == std::vector<std::string>{"leg-0:no-answer", "leg-1:no-answer", "parent-sid:no-answer"});
    // a second report of the same cancel changes nothing
    CHECK(!on_caller_cancel(c, 3).changed);
  }

  TEST_CASE("after a caller cancel the actionHook carries the parent's final state, not trying/100") {
    auto c = make_call(1);
    on_reply(c, 1, 0, 180, "Ringing", false, 1);
    auto t = on_caller_cancel(c, 2);
    REQUIRE(t.action_hook);
    CHECK(t.action_payload.at("call_status") == "no-answer");
    CHECK(t.action_payload.at("sip_status") == 487);
    CHECK(t.action_payload.at("sip_reason") == "Request Terminated");
  }

  TEST_CASE("an answer without ringing holds its status webhooks; a late provisional goes out first") {
    auto c = make_call(2);
    auto ans = on_reply(c, 1, 0, 200, "OK", true, 10.000);
    CHECK(ans.webhooks.empty());
    CHECK(c.held_status.size() == 2);
    CHECK(c.status == CallStatus::InProgress);
    bool hold_timer = false;
    for (const auto& op : ans.timers)
      if (op.id == timer_id(TimerKind::Hold, c.call_sid, 1)) hold_timer = op.due_ms == 10000 + kLateProvisionalHoldMs;
    CHECK(hold_timer);
    // the other leg is cancelled meanwhile: its status queues up behind the held ones
    auto lost = on_reply(c, 1, 1, 487, "Request Terminated", false, 10.050);
    keep_status_order(c, lost);
    CHECK(lost.webhooks.empty());
    CHECK(lost.changed);
    CHECK(c.held_status.size() == 3);
    // the 180 that Kamailio received just before the 200 is reported after it (stamped later, too: the
    // worker that handled it ran its reply route after the 200's)
    auto late = on_reply(c, 1, 0, 180, "Ringing", false, 10.006);
    CHECK(statuses(late) == std::vector<std::string>{"leg-0:ringing", "leg-0:in-progress", "parent-sid:in-progress",
                                                     "leg-1:no-answer"});
    CHECK(c.held_status.empty());
    bool cancelled = false;
    for (const auto& op : late.timers) cancelled |= op.id == timer_id(TimerKind::Hold, c.call_sid, 1) && op.due_ms == 0;
    CHECK(cancelled);
    // once released, a provisional is no ringing any more
    CHECK(on_reply(c, 1, 0, 180, "Ringing", false, 10.5).webhooks.empty());
  }

  TEST_CASE("held status webhooks go out when the hold timer fires, or before the call's end") {
    auto c = make_call(1);
    on_reply(c, 1, 0, 200, "OK", true, 10);
    auto fired = on_hold_timer(c);
    CHECK(statuses(fired) == std::vector<std::string>{"leg-0:in-progress", "parent-sid:in-progress"});
    CHECK(!on_hold_timer(c).changed);

    auto d = make_call(1);
    on_reply(d, 1, 0, 200, "OK", true, 10);
    auto end = on_dialog_end(d, 10.1);
    keep_status_order(d, end);
    auto sts = statuses(end);
    REQUIRE(sts.size() == 4);
    CHECK(sts[0] == "leg-0:in-progress");
    CHECK(sts[1] == "parent-sid:in-progress");
    CHECK(sts[2] == "leg-0:completed");
    CHECK(sts[3] == "parent-sid:completed");
  }

  TEST_CASE("an answer after ringing is reported at once") {
    auto c = make_call(1);
    on_reply(c, 1, 0, 183, "Session Progress", true, 1);
    auto ans = on_reply(c, 1, 0, 200, "OK", true, 1.001);
    CHECK(statuses(ans) == std::vector<std::string>{"leg-0:in-progress", "parent-sid:in-progress"});
    CHECK(c.held_status.empty());
  }

  TEST_CASE("a failed dial keeps its actionHook pending until its answer is applied, once") {
    auto c = make_call(1);
    auto f = on_dial_failed(c, 1, 0, 486, "Busy Here", false, 2);
    REQUIRE(f.action_hook);
    CHECK(c.dial->action_pending);
    CHECK(c.dial->action_payload == f.action_payload);
    // a re-sent request finds the dial ended: nothing changes, and it resumes with the pending actionHook
    CHECK(!on_dial_failed(c, 1, 0, 486, "Busy Here", false, 3).changed);
    CHECK(resume_decision(c, 1) == Resume::RunVerbs);
    json::array verbs{json::object{{"verb", "hangup"}}};
    auto a = on_action_answered(c, 1, verbs);
    CHECK(a.changed);
    CHECK(!c.dial->action_pending);
    CHECK(c.pending_verbs == verbs);
    // a second answer (another instance, same Idempotency-Key) is not applied again
    CHECK(!on_action_answered(c, 1, json::array{json::object{{"verb", "dial"}}}).changed);
    CHECK(c.pending_verbs == verbs);
  }

  TEST_CASE("an empty actionHook answer keeps the verbs after the dial") {
    auto c = make_call(1);
    c.pending_verbs.push_back(json::object{{"verb", "hangup"}});
    on_dial_failed(c, 1, 0, 486, "Busy Here", false, 2);
    CHECK(on_action_answered(c, 1, json::array{}).changed);
    CHECK(c.pending_verbs.size() == 1);
  }

  TEST_CASE("a re-sent decision replays a started dial's fork until Kamailio reports on it") {
    auto c = make_call(1);
    c.dial->seq = 2;
    c.dial->fork = {{"action", "fork"}, {"dial", 2}};
    CHECK(resume_decision(c, 1) == Resume::ReplayFork);
    CHECK(resume_decision(c, 2) == Resume::RunVerbs);  // a request about dial 2 itself
    on_reply(c, 2, 0, 180, "Ringing", false, 1);
    CHECK(c.dial->fork.empty());
    CHECK(resume_decision(c, 1) == Resume::RunVerbs);
  }

  TEST_CASE("event de-duplication: a repeat is skipped, a huge seq silences nothing") {
    auto c = make_call(1);
    CHECK(first_delivery(c, "n|1", 5));
    CHECK(!first_delivery(c, "n|1", 5));
    CHECK(first_delivery(c, "n|2", 5));  // another boot of the node
    CHECK(first_delivery(c, "n|1", 9223372036854775807LL));
    CHECK(first_delivery(c, "n|1", 6));
    CHECK(!first_delivery(c, "n|1", 6));
    for (long long s = 100; s < 100 + static_cast<long long>(kEventSeqWindow) + 5; ++s) CHECK(first_delivery(c, "n|1", s));
    CHECK(c.event_seq.at("n|1").as_array().size() == kEventSeqWindow);
    // state written by older versions (a high-water mark) is replaced, not trusted
    c.event_seq["old|1"] = 1000;
    CHECK(first_delivery(c, "old|1", 3));
  }

  TEST_CASE("verb id and customer data reach the payloads") {
    auto c = make_call(1, {{"verb", "dial"}, {"id", "d1"}, {"tag", {{"k", "v"}}}, {"actionHook", "http://a/b"}});
    auto t = on_reply(c, 1, 0, 486, "Busy Here", false, 1);
    CHECK(t.webhooks[0].payload.at("customerData").at("k") == "v");
    CHECK(t.webhooks[0].payload.at("parent_call_sid") == "parent-sid");
    CHECK(t.webhooks[0].payload.at("direction") == "outbound");
    auto f = on_dial_failed(c, 1, 0, 486, "Busy Here", false, 2);
    CHECK(f.action_payload.at("verb_id") == "d1");
    CHECK(f.action_hook->url == "http://a/b");
  }

  TEST_CASE("no actionHook, no action") {
    auto c = make_call(1, {{"verb", "dial"}});
    auto f = on_dial_failed(c, 1, 0, 486, "Busy Here", false, 2);
    CHECK(!f.action_hook);
    CHECK(c.dial->ended);
  }

  TEST_CASE("an app's hook with credentials in its URL is sent with them as basic auth") {
    Hook app{"http://127.0.0.1:3100/call", "POST", "", ""};
    json::value v = "https://me:pw@x.example.com/action";
    auto h = resolve_hook(&v, app);
    REQUIRE(h);
    CHECK(h->url == "https://x.example.com/action");
    CHECK(h->username == "me");
    CHECK(h->password == "pw");
    json::value bad = "https://me@x.example.com/action";
    CHECK(!resolve_hook(&bad, app));
  }

  TEST_CASE("resolve_hook") {
    Hook base{"https://app.example.com:8443/hooks/call?x=1", "POST", "user", "pw"};
    json::value rel = "/action";
    auto h = resolve_hook(&rel, base);
    REQUIRE(h);
    CHECK(h->url == "https://app.example.com:8443/action");
    CHECK(h->method == "POST");
    CHECK(h->username == "user");
    json::value obj = {{"url", "http://other/x"}, {"method", "GET"}, {"username", "a"}, {"password", "b"}};
    h = resolve_hook(&obj, base);
    CHECK(h->url == "http://other/x");
    CHECK(h->method == "GET");
    CHECK(h->username == "a");
    json::value null;
    CHECK(!resolve_hook(&null, base));
    CHECK(!resolve_hook(nullptr, base));
  }

  TEST_CASE("rejecting the caller reports the parent's final status once") {
    auto c = make_call(0);
    auto t = on_call_rejected(c, 486, "Busy Here", 1);
    CHECK(t.call_ended);
    CHECK(statuses(t) == std::vector<std::string>{"parent-sid:busy"});
    CHECK(!on_call_rejected(c, 486, "Busy Here", 2).changed);
  }

  TEST_CASE("header values are sanitised") {
    CHECK(sanitize_header_value("a\r\nInjected: x") == "a  Injected: x");
    CHECK(sanitize_header_value(std::string(300, 'x')).size() == 200);
  }

  TEST_CASE("timers: the answer cancels the ring timer and starts timeLimit; the end cancels it") {
    auto c = make_call(2);
    c.dial->time_limit_s = 3;
    on_reply(c, 1, 0, 180, "Ringing", false, 99);
    auto ans = on_reply(c, 1, 0, 200, "OK", true, 100.25);
    REQUIRE(ans.timers.size() == 2);
    CHECK(ans.timers[0].id == "ring|parent-sid|1");
    CHECK(ans.timers[0].due_ms == 0);
    CHECK(ans.timers[1].id == "limit|parent-sid|1");
    CHECK(ans.timers[1].due_ms == 103250);
    auto end = on_dialog_end(c, 103.3);
    bool cancels_limit = false;
    for (const auto& op : end.timers) cancels_limit |= op.id == "limit|parent-sid|1" && op.due_ms == 0;
    CHECK(cancels_limit);
  }

  TEST_CASE("timers: no timeLimit, no limit timer; a failed dial cancels its ring timer") {
    auto c = make_call(1);
    on_reply(c, 1, 0, 180, "Ringing", false, 0.5);
    auto ans = on_reply(c, 1, 0, 200, "OK", true, 1);
    REQUIRE(ans.timers.size() == 1);
    auto c2 = make_call(1);
    auto f = on_dial_failed(c2, 1, 0, 486, "Busy Here", false, 2);
    REQUIRE(f.timers.size() == 1);
    CHECK(f.timers[0].id == "ring|parent-sid|1");
    CHECK(f.timers[0].due_ms == 0);
  }

  TEST_CASE("dialplane's ring timer marks the dial, and the failure that follows is no-answer/487") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 180, "Ringing", false, 1);
    CHECK(on_ring_timer(c, 1).changed);
    CHECK(!on_ring_timer(c, 1).changed);  // idempotent: a second firing does nothing
    CHECK(!on_ring_timer(c, 2).changed);  // another dial's timer
    // Kamailio's CANCEL makes the legs answer 487 and the fork fail with 487, not flagged as a timeout
    auto f = on_dial_failed(c, 1, 0, 487, "Request Terminated", false, 4);
    CHECK(f.action_payload.at("dial_call_status") == "no-answer");
    CHECK(f.action_payload.at("dial_sip_status") == 487);
    auto answered = make_call(1);
    on_reply(answered, 1, 0, 200, "OK", true, 1);
    CHECK(!on_ring_timer(answered, 1).changed);  // too late: somebody answered
  }

  TEST_CASE("timer ids round trip") {
    auto id = timer_id(TimerKind::Limit, "abc-123", 2);
    CHECK(id == "limit|abc-123|2");
    auto r = parse_timer_id(id);
    REQUIRE(r);
    CHECK(r->kind == TimerKind::Limit);
    CHECK(r->call_sid == "abc-123");
    CHECK(r->dial_seq == 2);
    CHECK(!parse_timer_id("garbage"));
    CHECK(!parse_timer_id("ring||x"));
    CHECK(!parse_timer_id("nap|abc|1"));  // no such kind
    CHECK(parse_timer_id(timer_id(TimerKind::Hold, "s", 3))->kind == TimerKind::Hold);
  }

  TEST_CASE("state survives a JSON round trip") {
    auto c = make_call(2);
    on_reply(c, 1, 0, 200, "OK", true, 3);
    c.pending_verbs.push_back(json::object{{"verb", "hangup"}});
    c.event_seq["n|1"] = 42;
    c.dial->fork = {{"action", "fork"}};
    c.dial->action_pending = true;
    c.dial->action_payload = {{"dial_call_status", "busy"}};
    c.app_loaded = true;
    REQUIRE(c.held_status.size() == 2);  // answered without ringing
    auto back = call_state_from_json(json::value(to_json(c)));
    CHECK(back.dial->action_pending);
    CHECK(back.dial->fork == c.dial->fork);
    CHECK(back.held_status == c.held_status);
    CHECK(back.app_loaded);
    CHECK(json::serialize(to_json(back)) == json::serialize(to_json(c)));
    CHECK(back.dial->legs[0].status == CallStatus::InProgress);
    CHECK(back.call_hook.password == "p");
    // a browser caller's profile is kept; a plain caller's state has no key for it
    CHECK(back.caller_media.empty());
    CHECK_FALSE(to_json(c).contains("caller_media"));
    c.caller_media = "webrtc";
    CHECK(call_state_from_json(json::value(to_json(c))).caller_media == "webrtc");
  }
}

TEST_SUITE("dial machine: folded transitions") {
  // A batch's events of one call folded into one transition must commit exactly what the events would have
  // committed one by one: the same webhooks in the same order, the same timer changes, the end and the actionHook.
  TEST_CASE("merge_into of ringing, answer and hang-up equals the three transitions in sequence") {
    auto apply_all = [](CallState& c, bool fold) {
      std::vector<Transition> each;
      each.push_back(on_reply(c, 1, 0, 180, "Ringing", false, 1.0));
      each.push_back(on_reply(c, 1, 1, 200, "OK", true, 2.0));
      each.push_back(on_dialog_start(c, 1, 1, 7, 8, 2.1));
      each.push_back(on_dialog_end(c, 9.0));
      for (auto& t : each) keep_status_order(c, t);
      if (!fold) return each;
      Transition all;
      for (auto& t : each) merge_into(all, std::move(t));
      return std::vector<Transition>{std::move(all)};
    };
    auto a = make_call(2);
    auto b = make_call(2);
    auto seq = apply_all(a, false);
    auto folded = apply_all(b, true);
    REQUIRE(folded.size() == 1);
    const auto& f = folded[0];
    std::vector<std::string> want;
    std::vector<std::string> want_timers;
    bool ended = false;
    std::optional<Hook> action;
    for (const auto& t : seq) {
      for (auto& s : statuses(t)) want.push_back(s);
      for (const auto& op : t.timers) want_timers.push_back(op.id + "@" + std::to_string(op.due_ms));
      ended = ended || t.call_ended;
      if (t.action_hook) action = t.action_hook;
    }
    std::vector<std::string> got_timers;
    for (const auto& op : f.timers) got_timers.push_back(op.id + "@" + std::to_string(op.due_ms));
    CHECK(statuses(f) == want);
    CHECK(!want.empty());
    CHECK(got_timers == want_timers);
    CHECK(f.changed);
    CHECK(f.call_ended == ended);
    CHECK(f.call_ended);
    REQUIRE(f.action_hook.has_value() == action.has_value());
    if (action) CHECK(f.action_hook->url == action->url);
    CHECK(json::serialize(to_json(a)) == json::serialize(to_json(b)));
  }

  TEST_CASE("merge_into keeps a later change of the same timer after the earlier one") {
    Transition all;
    Transition one;
    one.timers.push_back({"ring:x:1", 100});
    Transition two;
    two.timers.push_back({"ring:x:1", 0});
    two.changed = true;
    merge_into(all, std::move(one));
    merge_into(all, std::move(two));
    REQUIRE(all.timers.size() == 2);
    CHECK(all.timers.back().due_ms == 0);  // the store applies them in order: cancelled
    CHECK(all.changed);
    CHECK_FALSE(all.call_ended);
  }
}
