// The call session (CallFlow) driven the way Kamailio drives it, over fakes: decisions, event batches,
// timers, the actionHook and the webhooks a call produces, in order.
#include <doctest/doctest.h>

#include "app_world.hpp"
#include "io/clock.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "core/dial_plan.hpp"

namespace json = boost::json;
using namespace dp::test;
using dp::core::TimerKind;
using dp::core::timer_id;

namespace {

json::value app_of(const char* text) { return json::parse(text); }

const char* kForkTwo = R"([{"verb":"dial","actionHook":"/action","timeout":20,
  "target":[{"type":"user","name":"alice"},{"type":"sip","sipUri":"sip:bob@example.net"}]}])";

// A call whose app forked to alice (registered) and bob; returns its sid.
std::string forked_call(AppWorld& w, const std::string& call_id = "call-1@caller.test") {
  w.kamailio.registrations["alice@acme.test"] = {{"sip:alice@198.51.100.7:5062", "", ""}};
  w.hooks.answer_json(kCallHook, app_of(kForkTwo));
  auto d = w.invite(call_id);
  REQUIRE(str_of(d, "action") == "fork");
  return str_of(d, "call_sid");
}

// The call_status webhooks sent so far as "<leg index>:<status>" (leg index by the order of their call sids),
// "call:<status>" for the caller's call.
std::vector<std::string> leg_statuses(const AppWorld& w) {
  std::vector<std::string> sids, out;
  for (const auto* s : w.hooks.of_kind("call_status")) {
    auto sid = str_of(s->payload, "call_sid");
    if (!s->payload.contains("parent_call_sid")) {
      out.push_back("call:" + str_of(s->payload, "call_status"));
      continue;
    }
    auto it = std::find(sids.begin(), sids.end(), sid);
    if (it == sids.end()) it = sids.insert(sids.end(), sid);
    out.push_back(std::to_string(it - sids.begin()) + ":" + str_of(s->payload, "call_status"));
  }
  return out;
}

}  // namespace

TEST_CASE("invite: the call_hook's dial forks one branch per registered contact and target") {
  AppWorld w;
  auto sid = forked_call(w);

  // The call_hook went out once, signed per account, with a key that a resumed attempt repeats.
  auto call_hooks = w.hooks.of_kind("call_hook");
  REQUIRE(call_hooks.size() == 1);
  CHECK(call_hooks[0]->hook.url == kCallHook);
  CHECK(call_hooks[0]->account_sid == kAccountSid);
  CHECK(call_hooks[0]->idempotency_key == sid + "-call_hook");
  CHECK(str_of(call_hooks[0]->payload, "call_sid") == sid);
  CHECK(str_of(call_hooks[0]->payload, "to") == kCalledNumber);
  CHECK(str_of(call_hooks[0]->payload, "from") == "15557654321");

  // The user target was looked up in the Kamailio that owns the call, within the RPC timeout.
  auto lookups = w.kamailio.of_method("ul.lookup");
  REQUIRE(lookups.size() == 1);
  CHECK(lookups[0]->node == kNode);
  CHECK(lookups[0]->args == std::vector<std::string>{"alice@acme.test"});
  CHECK(lookups[0]->timeout == std::chrono::milliseconds(700));

  // The fork is in the stored state before it leaves, with the ring timer.
  auto stored = w.calls.stored(sid);
  REQUIRE(stored);
  REQUIRE(stored->state.dial);
  const auto& fork = stored->state.dial->fork;
  CHECK(int_of(fork, "dial") == 1);
  CHECK(int_of(fork, "ring_ms") == 21500);  // timeout + Kamailio's backstop
  const auto& branches = fork.at("branches").as_array();
  REQUIRE(branches.size() == 2);
  CHECK(int_of(branches[0].as_object(), "leg") == 0);
  CHECK(str_of(branches[0].as_object(), "uri") == "sip:alice@198.51.100.7:5062");
  CHECK(int_of(branches[1].as_object(), "leg") == 1);
  CHECK(str_of(branches[1].as_object(), "uri") == "sip:bob@example.net");
  auto ring = w.calls.timers.find(timer_id(TimerKind::Ring, sid, 1));
  REQUIRE(ring != w.calls.timers.end());
  CHECK(ring->second > dp::io::epoch_ms() + 19000);
  CHECK(ring->second <= dp::io::epoch_ms() + 20000);

  // Each leg's first status webhook is queued (not sent) in the commit that started the dial.
  const auto& jobs = w.calls.outboxes[sid];
  REQUIRE(jobs.size() == 2);
  auto first = dp::app::Outbox::parse_job(jobs[0]);
  REQUIRE(first);
  CHECK(first->kind == "call_status");
  CHECK(first->hook.url == kStatusHook);
  // call, version written, index: created (1), dial (2; the app's verbs are committed with it, not before)
  CHECK(first->id == sid + "-2-0");
  CHECK(str_of(first->payload, "parent_call_sid") == sid);
  CHECK(str_of(first->payload, "call_status") == "trying");
  CHECK(w.outbox.kicks == std::vector<std::string>{sid});
}

TEST_CASE("a failed dial: leg events, then the actionHook's verbs start a second dial") {
  AppWorld w;
  auto sid = forked_call(w);
  CHECK(w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 180}, {"reason", "Ringing"}},
                          {{"ev", "reply"}, {"leg", 1}, {"code", 404}, {"reason", "Not Found"}}}) == 2);
  CHECK(w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 486}, {"reason", "Busy Here"}}}) == 1);

  w.hooks.answer_json(kActionHook, app_of(R"([{"verb":"dial","target":[{"type":"phone","number":"+15550001111"}]}])"));
  auto d = w.dial_failed(sid, 1, 0, 486, "Busy Here");

  // The second dial goes through Kamailio's inner hop with a leg plan naming the default carrier.
  REQUIRE(str_of(d, "action") == "fork");
  CHECK(int_of(d, "dial") == 2);
  const auto& branches = d.at("branches").as_array();
  REQUIRE(branches.size() == 1);
  auto uri = str_of(branches[0].as_object(), "uri");
  CHECK(uri.rfind("sip:dpleg-", 0) == 0);
  REQUIRE(w.prov.leg_plans.size() == 1);
  const auto& [token, plan] = *w.prov.leg_plans.begin();
  CHECK(uri == dp::core::inner_hop_uri(token));
  CHECK(str_of(plan, "call_sid") == sid);
  CHECK(int_of(plan, "dial") == 2);
  CHECK(str_of(plan, "number") == "+15550001111");
  CHECK(json::serialize(plan.at("carriers")) == "[\"" + kCarrierA + "\"]");
  CHECK(w.calls.timers.count(timer_id(TimerKind::Ring, sid, 1)) == 0);
  CHECK(w.calls.timers.count(timer_id(TimerKind::Ring, sid, 2)) == 1);

  // The actionHook reported the busy leg, after every status webhook of the dial (flushed first).
  auto actions = w.hooks.of_kind("action");
  REQUIRE(actions.size() == 1);
  CHECK(actions[0]->hook.url == kActionHook);
  CHECK(actions[0]->idempotency_key == sid + "-dial-1-action");
  CHECK(str_of(actions[0]->payload, "dial_call_status") == "busy");
  CHECK(int_of(actions[0]->payload, "dial_sip_status") == 486);
  CHECK(w.outbox.flushes == std::vector<std::string>{sid});
  CHECK(leg_statuses(w) == std::vector<std::string>{"0:trying", "1:trying", "0:ringing", "1:failed", "0:busy"});
  CHECK(w.hooks.sent.back().kind == "action");
}

TEST_CASE("an actionHook without verbs ends the call with the callee's failure") {
  AppWorld w;
  auto sid = forked_call(w);
  double now = dp::io::wall_now();
  // The caller hears the failure that came last (by Kamailio's timestamps), not the highest leg's.
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 1}, {"code", 404}, {"reason", "Not Found"}, {"ts", now - 1}},
                    {{"ev", "reply"}, {"leg", 0}, {"code", 486}, {"reason", "Busy Here"}, {"ts", now}}});
  auto d = w.dial_failed(sid, 1, 0, 486, "Busy Here");  // the actionHook answers 200 without a body
  CHECK(str_of(d, "action") == "reject");
  CHECK(int_of(d, "code") == 486);
  CHECK(str_of(d, "reason") == "Busy Here");
  CHECK(w.calls.calls.count(sid) == 0);  // ended: deleted with its Call-ID index
  CHECK(w.calls.call_ids.empty());
}

TEST_CASE("a re-sent INVITE decision (same Call-ID and CSeq) replays the stored fork") {
  AppWorld w;
  auto sid = forked_call(w);
  auto first = w.calls.stored(sid)->state.dial->fork;
  auto again = w.invite("call-1@caller.test");
  CHECK(again == first);
  CHECK(w.calls.calls.size() == 1);
  CHECK(w.hooks.of_kind("call_hook").size() == 1);
  CHECK(w.kamailio.of_method("ul.lookup").size() == 1);

  // Another CSeq is another INVITE: a new call.
  w.hooks.answer_json(kCallHook, app_of(R"([{"verb":"hangup"}])"));
  auto other = w.invite("call-1@caller.test", "2");
  CHECK(str_of(other, "action") == "reject");
  CHECK(int_of(other, "code") == 603);
}

TEST_CASE("a re-sent INVITE decision resumes an attempt that died after storing the call") {
  AppWorld w;
  w.kamailio.registrations["alice@acme.test"] = {{"sip:alice@198.51.100.7:5062", "", ""}};
  // The instance loses Redis right after creating the call: the app is fetched but not stored.
  w.calls.before_commit = [&] { w.calls.fail_next(dp::io::RedisError::Kind::Timeout); };
  w.hooks.answer_json(kCallHook, app_of(kForkTwo));
  auto failed = w.invite("call-2@caller.test");
  CHECK(str_of(failed, "action") == "reject");
  CHECK(int_of(failed, "code") == 503);
  CHECK(str_of(failed, "hdrs") == "X-Reason: state store unavailable\r\n");
  REQUIRE(w.calls.calls.size() == 1);
  auto sid = w.calls.calls.begin()->first;
  CHECK_FALSE(w.calls.stored(sid)->state.app_loaded);

  w.hooks.answer_json(kCallHook, app_of(kForkTwo));
  auto d = w.invite("call-2@caller.test");
  CHECK(str_of(d, "action") == "fork");
  CHECK(str_of(d, "call_sid") == sid);
  auto call_hooks = w.hooks.of_kind("call_hook");
  REQUIRE(call_hooks.size() == 2);
  CHECK(call_hooks[0]->idempotency_key == call_hooks[1]->idempotency_key);  // the app can de-duplicate
}

TEST_CASE("a re-sent dial-failed decision sends the same next fork without a second actionHook") {
  AppWorld w;
  auto sid = forked_call(w);
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 486}, {"reason", "Busy Here"}},
                    {{"ev", "reply"}, {"leg", 1}, {"code", 486}, {"reason", "Busy Here"}}});
  w.hooks.answer_json(kActionHook, app_of(R"([{"verb":"dial","target":[{"type":"sip","sipUri":"sip:carol@example.net"}]}])"));
  auto first = w.dial_failed(sid, 1, 0, 486, "Busy Here");
  REQUIRE(str_of(first, "action") == "fork");
  auto again = w.dial_failed(sid, 1, 0, 486, "Busy Here");
  CHECK(again == first);
  CHECK(w.hooks.of_kind("action").size() == 1);
}

TEST_CASE("invite refusals: no Call-ID, no application, a failing call_hook, invalid verbs") {
  AppWorld w;
  auto req = AppWorld::invite_request("");
  auto no_id = w.invite_body(req);
  CHECK(int_of(no_id, "code") == 400);
  CHECK(str_of(no_id, "hdrs") == "X-Reason: missing Call-ID\r\n");

  req = AppWorld::invite_request("c-404");
  req["ruri_user"] = "15550000000";
  req["to_user"] = "15550000000";
  auto unknown = w.invite_body(req);
  CHECK(int_of(unknown, "code") == 404);
  CHECK(str_of(unknown, "hdrs") == "X-Reason: no application for 15550000000\r\n");

  w.hooks.answer_failure(kCallHook, 500, "HTTP 500");
  auto hook_failed = w.invite("c-500");
  CHECK(int_of(hook_failed, "code") == 480);
  CHECK(str_of(hook_failed, "hdrs") == "X-Reason: call_hook failed: HTTP 500\r\n");

  w.hooks.answer_json(kCallHook, app_of(R"([{"verb":"dial"}])"));
  auto invalid = w.invite("c-invalid");
  CHECK(int_of(invalid, "code") == 480);
  CHECK(str_of(invalid, "hdrs").find("X-Reason: dial") == 0);
  CHECK(w.calls.calls.empty());  // every refused call was ended and deleted
}

TEST_CASE("--inbound-auth devices: the account's carriers by source address, its SIP users once authenticated") {
  AppWorld w;
  w.cfg.inbound_auth = dp::core::InboundAuth::Devices;
  w.hooks.answer_json(kCallHook, app_of(kForkTwo));

  // 192.0.2.10 is no carrier's: a challenge, before any call_hook or stored call
  auto stranger = w.invite("c-stranger");
  CHECK(stranger == json::object{{"action", "challenge"}});
  CHECK(w.hooks.of_kind("call_hook").empty());
  CHECK(w.calls.calls.empty());

  // one of the account's carriers sends from there: let in
  auto gw = carrier("0f0e0d0c-0000-4000-8000-0000000000c9", "carrier-in", {"gw-in.test"});
  gw.source_addresses = {"192.0.2.10"};
  w.prov.add(gw);
  CHECK(str_of(w.invite("c-carrier"), "action") == "fork");
  // ... but not over a WebSocket: a browser there still authenticates
  auto ws = AppWorld::invite_request("c-browser");
  ws["proto"] = "ws";
  CHECK(w.invite_body(ws) == json::object{{"action", "challenge"}});

  // credentials Kamailio checked: a user of the called account is let in, one of another account refused
  const std::string ha1(32, 'a');
  dp::core::SipUser alice{"alice", "caller.test", kAccountSid, ha1};
  dp::core::SipUser mallory{"mallory", "caller.test", "0f0e0d0c-0000-4000-8000-0000000000ff", ha1};
  w.prov.add(alice);
  w.prov.add(mallory);
  auto as_alice = AppWorld::invite_request("c-alice");
  as_alice["auth_user"] = "alice";
  as_alice["src_ip"] = "203.0.113.9";
  w.hooks.answer_json(kCallHook, app_of(kForkTwo));  // one answer per call_hook
  auto admitted = w.invite_body(as_alice);
  CHECK_MESSAGE(str_of(admitted, "action") == "fork", json::serialize(admitted));
  auto as_mallory = AppWorld::invite_request("c-mallory");
  as_mallory["auth_user"] = "mallory";
  auto refused = w.invite_body(as_mallory);
  CHECK(int_of(refused, "code") == 403);
  CHECK(str_of(refused, "hdrs") == "X-Reason: user mallory is not of the called account\r\n");
  CHECK(w.hooks.of_kind("call_hook").size() == 2);  // the carrier's and alice's calls only
}

TEST_CASE("answered call: status order, then timeLimit ends the dialog through Kamailio") {
  AppWorld w;
  w.hooks.answer_json(kCallHook, app_of(R"([{"verb":"dial","timeLimit":30,"actionHook":"/action",
    "target":[{"type":"sip","sipUri":"sip:bob@example.net"}]}])"));
  auto d = w.invite("call-3@caller.test");
  REQUIRE(str_of(d, "action") == "fork");
  auto sid = str_of(d, "call_sid");
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 180}, {"reason", "Ringing"}},
                    {{"ev", "reply"}, {"leg", 0}, {"code", 200}, {"reason", "OK"}, {"sdp", true}}});
  auto limit = timer_id(TimerKind::Limit, sid, 1);

  // Answered, but Kamailio has not reported the dialog ids yet: the timer asks to fire again.
  auto retry = w.fire_timer(limit);
  REQUIRE(retry);
  CHECK(*retry > dp::io::epoch_ms());
  CHECK(w.kamailio.of_method("dlg.end_dlg").empty());

  w.events(sid, 1, {{{"ev", "dialog_start"}, {"leg", 0}, {"h_entry", 11}, {"h_id", 22}}});
  CHECK(w.calls.timers.count(timer_id(TimerKind::Ring, sid, 1)) == 0);  // answered: no ring timeout
  CHECK_FALSE(w.fire_timer(timer_id(TimerKind::Ring, sid, 1)));         // a stale one cancels nothing
  CHECK(w.kamailio.of_method("tm.cancel").empty());
  REQUIRE(w.calls.timers.count(limit) == 1);
  CHECK_FALSE(w.fire_timer(limit));
  auto byes = w.kamailio.of_method("dlg.end_dlg");
  REQUIRE(byes.size() == 1);
  CHECK(byes[0]->node == kNode);
  CHECK(byes[0]->args ==
        std::vector<std::string>{"11", "22", "Reason: SIP;cause=200;text=\"timeLimit reached\"\r\n"});
  CHECK(w.calls.calls.count(sid) == 0);

  // The caller is gone, so the actionHook goes through the outbox, after the leg's last status.
  w.deliver_webhooks();
  CHECK(leg_statuses(w) == std::vector<std::string>{"0:trying", "0:ringing", "0:in-progress", "call:in-progress",
                                                    "0:completed", "call:completed"});
  REQUIRE(w.hooks.of_kind("action").size() == 1);
  CHECK(w.hooks.sent.back().kind == "action");
  CHECK(str_of(w.hooks.sent.back().payload, "dial_call_status") == "completed");
  CHECK(w.calls.outbox_due.empty());
}

TEST_CASE("timeLimit on a dialog Kamailio no longer knows still closes the call") {
  AppWorld w;
  w.hooks.answer_json(kCallHook, app_of(R"([{"verb":"dial","timeLimit":5,"target":[{"type":"sip","sipUri":"sip:bob@example.net"}]}])"));
  auto sid = str_of(w.invite("call-4@caller.test"), "call_sid");
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 200}, {"reason", "OK"}, {"sdp", true}},
                    {{"ev", "dialog_start"}, {"leg", 0}, {"h_entry", 1}, {"h_id", 2}}});
  w.kamailio.ended_dialogs.insert({1, 2});
  CHECK_FALSE(w.fire_timer(timer_id(TimerKind::Limit, sid, 1)));
  CHECK(w.kamailio.of_method("dlg.end_dlg").size() == 1);
  CHECK(w.calls.calls.count(sid) == 0);
}

TEST_CASE("ring timeout: Kamailio cancels the fork and the dial reports no-answer") {
  AppWorld w;
  auto sid = forked_call(w);
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 180}, {"reason", "Ringing"}}});
  CHECK_FALSE(w.fire_timer(timer_id(TimerKind::Ring, sid, 1)));
  auto cancels = w.kamailio.of_method("tm.cancel");
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0]->node == kNode);
  CHECK(cancels[0]->args == std::vector<std::string>{"call-1@caller.test", "1"});

  auto d = w.dial_failed(sid, 1, 0, 487, "Request Terminated", true);
  CHECK(str_of(d, "action") == "reject");
  auto actions = w.hooks.of_kind("action");
  REQUIRE(actions.size() == 1);
  CHECK(str_of(actions[0]->payload, "dial_call_status") == "no-answer");
  auto statuses = leg_statuses(w);
  CHECK(std::count(statuses.begin(), statuses.end(), "0:no-answer") == 1);
  CHECK(std::count(statuses.begin(), statuses.end(), "1:no-answer") == 1);
}

TEST_CASE("a failing tm.cancel is contained: Kamailio's own timer is the backstop") {
  AppWorld w;
  auto sid = forked_call(w);
  w.kamailio.fail_next("tm.cancel", std::make_exception_ptr(dp::io::RpcError(500, "no such transaction")));
  CHECK_NOTHROW(w.fire_timer(timer_id(TimerKind::Ring, sid, 1)));
  CHECK(w.kamailio.of_method("tm.cancel").size() == 1);
}

TEST_CASE("outbox: a conflicting write is retried without queueing any webhook twice") {
  AppWorld w;
  auto sid = forked_call(w);
  // Another instance writes the call between this instance's load and its commit.
  w.calls.before_commit = [&] {
    auto cur = w.calls.stored(sid);
    REQUIRE(w.calls.apply(cur->state, cur->version, false, {}, {}, 0));
  };
  CHECK(w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 180}, {"reason", "Ringing"}}}) == 1);
  CHECK(w.calls.conflicts == 1);
  const auto& jobs = w.calls.outboxes[sid];
  REQUIRE(jobs.size() == 3);
  auto ringing = dp::app::Outbox::parse_job(jobs[2]);
  REQUIRE(ringing);
  CHECK(str_of(ringing->payload, "call_status") == "ringing");
  CHECK(ringing->id == sid + "-4-0");  // written as version 4: dial (2), the other instance (3), ringing (4)

  // A re-delivered batch (same seqs) changes nothing and queues nothing.
  boost::json::array evs{{{"ev", "reply"}, {"call_sid", sid}, {"dial", 1}, {"leg", 0}, {"code", 180}, {"seq", 1}}};
  boost::json::object body{{"node", kNode}, {"boot", "1"}, {"events", evs}};
  CHECK(w.events_body(body) == 0);
  CHECK(w.calls.outboxes[sid].size() == 3);

  // Delivery keeps the commit order and each job's key.
  w.deliver_webhooks();
  REQUIRE(w.hooks.of_kind("call_status").size() == 3);
  CHECK(w.hooks.sent[1].idempotency_key == sid + "-2-0");
  CHECK(w.hooks.sent[2].idempotency_key == sid + "-2-1");
  CHECK(w.hooks.sent[3].idempotency_key == sid + "-4-0");
  CHECK(w.calls.outboxes[sid].empty());
}

TEST_CASE("events: a Redis failure is reported so Kamailio re-sends the batch") {
  AppWorld w;
  auto sid = forked_call(w);
  w.calls.fail_next(dp::io::RedisError::Kind::Disconnected);
  boost::json::array evs{{{"ev", "reply"}, {"call_sid", sid}, {"dial", 1}, {"leg", 0}, {"code", 180}, {"seq", 7}}};
  boost::json::object body{{"node", kNode}, {"boot", "1"}, {"events", evs}};
  CHECK_THROWS_AS(w.events_body(body), dp::io::RedisError);
  CHECK(w.events_body(body) == 1);  // the re-sent batch applies
}

TEST_CASE("teams target: the first Microsoft proxy not reported down takes the leg; none up fails it at once") {
  AppWorld w;
  dp::core::Account acct;
  acct.account_sid = kAccountSid;
  acct.name = "acme";
  acct.sip_realm = "acme.test";
  acct.teams_sbc_fqdn = "sbc.acme.test";
  acct.teams_tenant_fqdn = "contoso.test";
  w.prov.add(acct);
  auto proxies = dp::core::default_teams_proxies();
  auto down = "down|" + std::to_string(static_cast<long long>(dp::io::wall_now()));
  w.prov.health[dp::core::teams_dst(proxies[0])] = down;
  w.hooks.answer_json(kCallHook, app_of(R"([{"verb":"dial","actionHook":"/action","callerId":"+15550001111",
    "target":[{"type":"teams","number":"+14255550100","vmail":true}]}])"));
  auto d = w.invite("teams-1@caller.test");
  REQUIRE(str_of(d, "action") == "fork");
  const auto& b = d.at("branches").as_array().at(0).as_object();
  CHECK(str_of(b, "uri") == "sip:+14255550100@sip2.pstnhub.microsoft.com;user=phone;opaque=app:voicemail");
  CHECK(str_of(b, "dst") == "sip:sip2.pstnhub.microsoft.com:5061;transport=tls");
  CHECK(str_of(b, "from_uri") == "sip:+15550001111@contoso.test");
  CHECK(str_of(b, "contact") == "<sip:+15550001111@sbc.acme.test:5061;transport=tls>");
  CHECK(str_of(b, "media") == "teams");

  // every proxy down: no INVITE; the leg fails 503 with the reason, and so does the caller
  w.prov.health[dp::core::teams_dst(proxies[1])] = down;
  w.prov.health[dp::core::teams_dst(proxies[2])] = down;
  w.hooks.answer_json(kCallHook, app_of(R"([{"verb":"dial","target":[{"type":"teams","number":"+14255550100"}]}])"));
  auto r = w.invite("teams-2@caller.test");
  CHECK(str_of(r, "action") == "reject");
  CHECK(int_of(r, "code") == 503);
  CHECK(str_of(r, "hdrs").find("no Microsoft Teams proxy answers OPTIONS") != std::string::npos);
}
