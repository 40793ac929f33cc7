// Live call control through the REST edge (RestApi -> CallsApi -> LiveCallControl), over the fakes: what each
// updateCall does to Kamailio (dlg.end_dlg, tm.cancel), to rtpengine (NG command, tags, node) and to the call's
// state, every refusal with its status and message, and the account's call list.
#include <doctest/doctest.h>

#include "app/api/rest/calls_api.hpp"
#include "app/api/rest/rest_api.hpp"
#include "app/session/live_call.hpp"
#include "app_world.hpp"
#include "fakes/fake_media.hpp"
#include "fakes/fake_media_files.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io/task_group.hpp"

namespace json = boost::json;
namespace ng = dp::core::ng;
using namespace dp::test;

namespace {

const std::string kKey = "rest-key-1";
const std::string kOtherAccount = "0f0e0d0c-0000-4000-8000-0000000000ff";
const std::string kRtpNode = "udp:127.0.0.1:12222";

const char* kDialTwo = R"([{"verb":"dial","actionHook":"/action","timeout":30,"tag":{"crm":"42"},
  "target":[{"type":"sip","sipUri":"sip:alice@example.net"},{"type":"sip","sipUri":"sip:bob@example.net"}]}])";

struct LiveWorld : AppWorld {
  dp::io::TaskGroup tasks{ioc.get_executor()};
  dp::app::LiveCallControl live{{cfg, calls, media, files, metrics.calls(), flow, tasks}};
  dp::app::CallsApi calls_api{live};
  dp::app::RestApi rest{prov, {kKey}};

  LiveWorld() { rest.set_calls(&calls_api); }

  dp::io::ServerResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    dp::io::ServerRequest req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.body = body;
    req.headers.emplace_back("authorization", "Bearer " + kKey);
    if (method == "POST" || method == "PUT") req.headers.emplace_back("content-type", "application/json");
    return run(rest.handle(req));
  }
  dp::io::ServerResponse put(const std::string& sid, const std::string& body) {
    return call("PUT", "/v1/Accounts/" + kAccountSid + "/Calls/" + sid, body);
  }

  // A call whose dial rings alice (leg 0) and bob (leg 1), with a known caller tag and rtpengine node.
  std::string ringing_call(const std::string& call_id = "live-1@caller.test") {
    hooks.answer_json(kCallHook, json::parse(kDialTwo));
    auto d = invite(call_id);
    REQUIRE(str_of(d, "action") == "fork");
    auto sid = str_of(d, "call_sid");
    auto cur = calls.stored(sid);
    cur->state.from_tag = "caller-tag";
    cur->state.rtp_node = kRtpNode;
    REQUIRE(calls.apply(cur->state, cur->version, false, {}, {}, 0));
    events(sid, 1,
           {{{"ev", "reply"}, {"leg", 0}, {"code", 180}, {"reason", "Ringing"}},
            {{"ev", "reply"}, {"leg", 1}, {"code", 180}, {"reason", "Ringing"}}});
    return sid;
  }
  // Bob answers (callee tag "callee-tag"), alice's branch is cancelled, the dialog is confirmed.
  std::string answered_call(const std::string& call_id = "live-1@caller.test") {
    auto sid = ringing_call(call_id);
    events(sid, 1,
           {{{"ev", "reply"}, {"leg", 1}, {"code", 200}, {"reason", "OK"}, {"sdp", true}, {"to_tag", "callee-tag"}},
            {{"ev", "reply"}, {"leg", 0}, {"code", 487}, {"reason", "Request Terminated"}},
            {{"ev", "dialog_start"}, {"leg", 1}, {"h_entry", 11}, {"h_id", 22}}});
    return sid;
  }
  dp::core::CallState state(const std::string& sid) {
    auto cur = calls.stored(sid);
    REQUIRE(cur);
    return cur->state;
  }
  std::string leg_sid(const std::string& sid, int leg) { return state(sid).dial->legs[leg].call_sid; }

  static std::string msg(const dp::io::ServerResponse& r) { return str_of(json::parse(r.body).as_object(), "msg"); }
  std::string series(const std::string& name_and_labels) {
    auto page = metrics.scrape().body;
    auto at = page.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return "";
    auto start = at + 1 + name_and_labels.size() + 1;
    return page.substr(start, page.find('\n', start) - start);
  }
};

const std::string kIncompatible = "current call state is incompatible with requested action for call_sid ";

}  // namespace

TEST_CASE("updateCall completed: a BYE to both sides through Kamailio, then the call closes like timeLimit") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto bob = w.leg_sid(sid, 1);
  REQUIRE(w.calls.children.count(bob) == 1);

  auto r = w.put(sid, R"({"call_status":"completed"})");
  CHECK(r.status == 202);
  CHECK(r.body == "{}");
  auto byes = w.kamailio.of_method("dlg.end_dlg");
  REQUIRE(byes.size() == 1);
  CHECK(byes[0]->node == kNode);
  CHECK(byes[0]->args ==
        std::vector<std::string>{"11", "22", "Reason: SIP;cause=200;text=\"call_status completed (REST API)\"\r\n"});
  // Closed at once, indices and all; the completed statuses and the actionHook go out through the outbox.
  CHECK(w.calls.calls.count(sid) == 0);
  CHECK(w.calls.children.empty());
  CHECK(w.calls.account_calls[kAccountSid].empty());
  w.deliver_webhooks();
  REQUIRE(w.hooks.of_kind("action").size() == 1);
  CHECK(str_of(w.hooks.of_kind("action")[0]->payload, "dial_call_status") == "completed");

  // The call is gone: 404, as jambonz's API server answers for a call it no longer has.
  auto again = w.put(sid, R"({"call_status":"completed"})");
  CHECK(again.status == 404);
  CHECK(LiveWorld::msg(again) == "call not found");
  CHECK(w.series(R"(dialplane_call_updates_total{op="completed",result="accepted"})") == "1");
}

TEST_CASE("updateCall completed on the answered child's sid (legacy POST) hangs up the whole call") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto alice = w.leg_sid(sid, 0);
  auto bob = w.leg_sid(sid, 1);
  auto loser = w.call("POST", "/v1/Accounts/" + kAccountSid + "/Calls/" + alice, R"({"call_status":"completed"})");
  CHECK(loser.status == 422);
  CHECK(LiveWorld::msg(loser) == kIncompatible + alice + ": this leg did not answer the call");
  auto r = w.call("POST", "/v1/Accounts/" + kAccountSid + "/Calls/" + bob, R"({"call_status":"completed"})");
  CHECK(r.status == 202);
  CHECK(w.kamailio.of_method("dlg.end_dlg").size() == 1);
  CHECK(w.calls.calls.count(sid) == 0);
}

TEST_CASE("updateCall completed: a failing dlg.end_dlg is 503 and leaves the call as it was") {
  LiveWorld w;
  auto sid = w.answered_call();
  w.kamailio.fail_next("dlg.end_dlg", std::make_exception_ptr(dp::io::RpcError(500, "internal error")));
  auto r = w.put(sid, R"({"call_status":"completed"})");
  CHECK(r.status == 503);
  CHECK(LiveWorld::msg(r).rfind("the SIP proxy did not end the call: ", 0) == 0);
  CHECK(w.state(sid).status == dp::core::CallStatus::InProgress);
}

TEST_CASE("updateCall no-answer cancels the ringing dial like its ring timeout; the app goes on") {
  LiveWorld w;
  auto sid = w.ringing_call();
  auto refused = w.put(sid, R"({"call_status":"completed"})");
  CHECK(refused.status == 422);
  CHECK(LiveWorld::msg(refused) == kIncompatible + sid + ": the call is not answered (use call_status no-answer)");
  auto alice = w.leg_sid(sid, 0);
  auto child = w.put(alice, R"({"call_status":"no-answer"})");
  CHECK(child.status == 422);
  CHECK(LiveWorld::msg(child) == kIncompatible + alice + ": no-answer cancels the whole dial: use the parent call_sid");
  CHECK(w.kamailio.of_method("tm.cancel").empty());

  auto r = w.put(sid, R"({"call_status":"no-answer"})");
  CHECK(r.status == 202);
  auto cancels = w.kamailio.of_method("tm.cancel");
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0]->node == kNode);
  CHECK(cancels[0]->args == std::vector<std::string>{"live-1@caller.test", "1"});
  CHECK(w.state(sid).dial->ring_timed_out);

  // Kamailio's failure_route reports the cancelled fork: no-answer/487, the actionHook's verbs run next.
  w.hooks.answer_json(kActionHook, json::parse(R"([{"verb":"sip:decline","status":486}])"));
  auto d = w.dial_failed(sid, 1, 0, 487, "Request Terminated");
  auto actions = w.hooks.of_kind("action");
  REQUIRE(actions.size() == 1);
  CHECK(str_of(actions[0]->payload, "dial_call_status") == "no-answer");
  CHECK(int_of(actions[0]->payload, "dial_sip_status") == 487);
  CHECK(str_of(d, "action") == "reject");
  CHECK(int_of(d, "code") == 486);
}

TEST_CASE("updateCall no-answer on an answered call, or a failed tm.cancel") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto r = w.put(sid, R"({"call_status":"no-answer"})");
  CHECK(r.status == 422);
  CHECK(LiveWorld::msg(r) == kIncompatible + sid + ": the call is answered (use call_status completed)");

  auto ringing = w.ringing_call("live-2@caller.test");
  w.kamailio.fail_next("tm.cancel", std::make_exception_ptr(dp::io::RpcError(500, "no such transaction")));
  auto failed = w.put(ringing, R"({"call_status":"no-answer"})");
  CHECK(failed.status == 503);
  CHECK(LiveWorld::msg(failed) ==
        "the SIP proxy did not cancel the dial (tm.cancel failed); it ends at its ring timeout");
}

TEST_CASE("updateCall mute_status: block media from the addressed leg's tag on the call's node, recorded") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto bob = w.leg_sid(sid, 1);
  REQUIRE(w.put(sid, R"({"mute_status":"mute"})").status == 202);
  REQUIRE(w.media.requests.size() == 1);
  CHECK(w.media.requests[0].node.spec == kRtpNode);
  CHECK(w.media.requests[0].node.host == "127.0.0.1");
  CHECK(w.media.requests[0].node.port == 12222);
  auto block = w.media.of_type<ng::BlockMedia>();
  REQUIRE(block.size() == 1);
  CHECK(block[0].call_id == "live-1@caller.test");
  REQUIRE(block[0].from);
  CHECK(block[0].from->value == "caller-tag");
  CHECK(w.state(sid).caller_muted);

  REQUIRE(w.put(bob, R"({"mute_status":"mute"})").status == 202);
  CHECK(w.media.of_type<ng::BlockMedia>().back().from->value == "callee-tag");
  CHECK(w.state(sid).dial->legs[1].muted);

  REQUIRE(w.put(bob, R"({"mute_status":"unmute"})").status == 202);
  auto unblock = w.media.of_type<ng::UnblockMedia>();
  REQUIRE(unblock.size() == 1);
  CHECK(unblock[0].from->value == "callee-tag");
  CHECK_FALSE(w.state(sid).dial->legs[1].muted);
  CHECK(w.state(sid).caller_muted);  // the other side is untouched

  auto alice = w.leg_sid(sid, 0);
  auto loser = w.put(alice, R"({"mute_status":"mute"})");
  CHECK(loser.status == 422);
  CHECK(LiveWorld::msg(loser) == kIncompatible + alice + ": this leg is not bridged");
  CHECK(w.media.requests.size() == 3);
}

TEST_CASE("updateCall mute_status: a write by another instance meanwhile is reloaded, not lost") {
  LiveWorld w;
  auto sid = w.answered_call();
  const int before = w.calls.conflicts;  // the setup's own writes "from another instance" cost one already
  w.calls.before_commit = [&] {
    auto cur = w.calls.stored(sid);
    cur->state.dial->legs[0].sip_reason = "changed elsewhere";
    REQUIRE(w.calls.apply(cur->state, cur->version, false, {}, {}, 0));
  };
  REQUIRE(w.put(sid, R"({"mute_status":"mute"})").status == 202);
  CHECK(w.calls.conflicts == before + 1);
  auto s = w.state(sid);
  CHECK(s.caller_muted);
  CHECK(s.dial->legs[0].sip_reason == "changed elsewhere");
}

TEST_CASE("updateCall mute_status: what rtpengine answers decides the status, and nothing is recorded") {
  LiveWorld w;
  auto sid = w.answered_call();
  w.media.answer_error("Unknown call-id");
  auto refused = w.put(sid, R"({"mute_status":"mute"})");
  CHECK(refused.status == 422);
  CHECK(LiveWorld::msg(refused) == "rtpengine refused block media: Unknown call-id");
  CHECK_FALSE(w.state(sid).caller_muted);
  w.media.answer_failure(dp::io::NgResult::Kind::Timeout);
  auto silent = w.put(sid, R"({"mute_status":"mute"})");
  CHECK(silent.status == 503);
  CHECK(LiveWorld::msg(silent).rfind("rtpengine did not answer block media", 0) == 0);
  CHECK_FALSE(w.state(sid).caller_muted);

  auto ringing = w.ringing_call("live-2@caller.test");
  auto early = w.put(ringing, R"({"mute_status":"mute"})");
  CHECK(early.status == 422);
  CHECK(LiveWorld::msg(early) == kIncompatible + ringing + ": the call is not bridged to an answered leg");
}

TEST_CASE("updateCall dtmf: one play DTMF per key, generated by the other side so the addressed leg hears it") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto bob = w.leg_sid(sid, 1);
  REQUIRE(w.put(bob, R"({"dtmf":{"digit":"12#","duration":400}})").status == 202);
  auto keys = w.media.of_type<ng::PlayDtmf>();
  REQUIRE(keys.size() == 3);
  CHECK(keys[0].code == "1");
  CHECK(keys[1].code == "2");
  CHECK(keys[2].code == "#");
  for (const auto& k : keys) {
    CHECK(k.from.value == "caller-tag");  // bob hears it
    CHECK(k.duration_ms == 400);
    CHECK(k.call_id == "live-1@caller.test");
  }

  REQUIRE(w.put(sid, R"({"dtmf":{"digit":"9"}})").status == 202);
  auto to_caller = w.media.of_type<ng::PlayDtmf>().back();
  CHECK(to_caller.from.value == "callee-tag");  // the caller hears it
  CHECK(to_caller.duration_ms == 250);

  w.media.answer_ok();
  w.media.answer_error("no DTMF-capable codec");
  auto partial = w.put(sid, R"({"dtmf":{"digit":"123"}})");
  CHECK(partial.status == 422);
  CHECK(LiveWorld::msg(partial) == "rtpengine refused play DTMF (1 of 3 keys sent): no DTMF-capable codec");
  CHECK(w.media.of_type<ng::PlayDtmf>().size() == 6);  // the third key was not sent

  auto bad = w.put(sid, R"({"dtmf":{"digit":"1","duration":20}})");
  CHECK(bad.status == 400);
  CHECK(LiveWorld::msg(bad) == "dtmf.duration: must be a whole number of milliseconds from 100 to 5000");
}

TEST_CASE("updateCall whisper: fetched or spoken, then played to the addressed leg only, after the 202") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto bob = w.leg_sid(sid, 1);
  REQUIRE(w.put(bob, R"({"whisper":{"verb":"play","url":"https://u:pw@media.test/hello.wav"}})").status == 202);
  REQUIRE(w.files.fetched.size() == 1);
  CHECK(w.files.fetched[0].url == "https://media.test/hello.wav");
  CHECK(w.files.fetched[0].username == "u");
  auto plays = w.media.of_type<ng::PlayMedia>();
  REQUIRE(plays.size() == 1);
  CHECK(plays[0].to.value == "callee-tag");
  CHECK(plays[0].call_id == "live-1@caller.test");
  CHECK(plays[0].file == "/fake-media/fetched-1.wav");  // the path the media store gave
  CHECK(plays[0].repeat_times == 1);

  REQUIRE(w.put(sid, R"({"whisper":[{"verb":"say","text":"you have one minute",
    "synthesizer":{"vendor":"default","language":"en-GB","voice":"alan"}}]})")
              .status == 202);
  REQUIRE(w.files.spoken.size() == 1);
  CHECK(w.files.spoken[0].text == "you have one minute");
  CHECK(w.files.spoken[0].language == "en-GB");
  CHECK(w.files.spoken[0].voice == "alan");
  CHECK(w.media.of_type<ng::PlayMedia>().back().to.value == "caller-tag");

  // After an operation: mute first, then the whisper (jambonz's order).
  w.media.requests.clear();
  REQUIRE(w.put(sid, R"({"mute_status":"mute","whisper":{"verb":"say","text":"muted"}})").status == 202);
  REQUIRE(w.media.requests.size() == 2);
  CHECK(std::holds_alternative<ng::BlockMedia>(w.media.requests[0].request));
  CHECK(std::holds_alternative<ng::PlayMedia>(w.media.requests[1].request));
  CHECK(w.series(R"(dialplane_call_updates_total{op="whisper",result="played"})") == "3");
}

TEST_CASE("updateCall whisper: a media failure after the 202 is logged and counted, nothing is played") {
  LiveWorld w;
  auto sid = w.answered_call();
  w.files.fail_fetch("https://media.test/missing.wav", "HTTP 404");
  auto r = w.put(sid, R"({"whisper":{"verb":"play","url":"https://media.test/missing.wav"}})");
  CHECK(r.status == 202);
  CHECK(w.media.requests.empty());
  CHECK(w.series(R"(dialplane_call_updates_total{op="whisper",result="media_failed"})") == "1");

  w.media.answer_error("Failed to start media playback");
  CHECK(w.put(sid, R"({"whisper":{"verb":"say","text":"hi"}})").status == 202);
  CHECK(w.series(R"(dialplane_call_updates_total{op="whisper",result="play_failed"})") == "1");

  auto ringing = w.ringing_call("live-2@caller.test");
  auto early = w.put(ringing, R"({"whisper":{"verb":"say","text":"hi"}})");
  CHECK(early.status == 422);
  CHECK(w.files.spoken.size() == 1);  // refused before anything was rendered
}

TEST_CASE("updateCall refusals: unknown sid or account, malformed bodies, unsupported operations") {
  LiveWorld w;
  auto sid = w.answered_call();
  const std::string ghost = "0f0e0d0c-0000-4000-8000-00000000dead";
  CHECK(w.put(ghost, R"({"call_status":"completed"})").status == 404);
  CHECK(w.put("not-a-uuid", R"({"call_status":"completed"})").status == 404);
  // Another account's call is no call of this one.
  auto other = w.call("PUT", "/v1/Accounts/" + kOtherAccount + "/Calls/" + sid, R"({"call_status":"completed"})");
  CHECK(other.status == 404);
  CHECK(LiveWorld::msg(other) == "call not found");
  CHECK(w.call("GET", "/v1/Accounts/" + kOtherAccount + "/Calls/" + sid).status == 404);
  CHECK(w.kamailio.of_method("dlg.end_dlg").empty());

  auto malformed = w.put(sid, "{not json");
  CHECK(malformed.status == 400);
  CHECK(LiveWorld::msg(malformed) == "body: malformed JSON");
  auto none = w.put(sid, "{}");
  CHECK(none.status == 400);
  CHECK(LiveWorld::msg(none) == "no valid options supplied to updateCall");
  auto two = w.put(sid, R"({"call_status":"completed","mute_status":"mute"})");
  CHECK(two.status == 400);
  CHECK(LiveWorld::msg(two) == "multiple options are not allowed in updateCall");
  auto listen = w.put(sid, R"({"listen_status":"pause"})");
  CHECK(listen.status == 422);
  CHECK(LiveWorld::msg(listen) ==
        "current call state is incompatible with requested action for call_sid " + sid + ": no listen is active on this call");
  auto redirect = w.put(sid, R"({"call_hook":"http://app.test/other"})");
  CHECK(redirect.status == 422);
  CHECK(w.state(sid).status == dp::core::CallStatus::InProgress);

  auto path = "/v1/Accounts/" + kAccountSid + "/Calls";
  auto create = w.call("POST", path, R"({"from":"1","to":{"type":"phone","number":"2"}})");
  CHECK(create.status == 501);
  CHECK(LiveWorld::msg(create) == "createCall (POST /Calls) is not supported by dialplane yet");
  auto del = w.call("DELETE", path + "/" + sid);
  CHECK(del.status == 405);
  REQUIRE(del.headers.size() == 1);
  CHECK(del.headers[0].second == "GET, PUT, POST");
  CHECK(w.call("GET", path + "/" + sid + "/extra").status == 404);
  CHECK(w.call("GET", "/v1/Accounts/nope/Calls").status == 404);

  // The REST key and the JSON content type are checked first, as for every other resource.
  dp::io::ServerRequest anon;
  anon.method = "PUT";
  anon.path = path + "/" + sid;
  anon.headers.emplace_back("content-type", "application/json");
  anon.body = R"({"call_status":"completed"})";
  CHECK(w.run(w.rest.handle(anon)).status == 401);
  dp::io::ServerRequest text = anon;
  text.headers = {{"authorization", "Bearer " + kKey}, {"content-type", "text/plain"}};
  CHECK(w.run(w.rest.handle(text)).status == 415);
  CHECK(w.calls.calls.count(sid) == 1);
}

TEST_CASE("GET Calls: the account's live calls with the legs of their dial; GET one by either sid") {
  LiveWorld w;
  auto first = w.answered_call();
  auto second = w.ringing_call("live-2@caller.test");
  auto path = "/v1/Accounts/" + kAccountSid + "/Calls";

  for (const auto& p : {path, path + "/"}) {  // the node client lists with a trailing slash
    auto r = w.call("GET", p);
    REQUIRE(r.status == 200);
    auto list = json::parse(r.body).as_array();
    REQUIRE(list.size() == 6);  // two calls, each followed by its two legs (calls created in the same ms: any order)
    std::size_t a = str_of(list[0].as_object(), "call_sid") == first ? 0 : 3;
    std::size_t b = 3 - a;
    CHECK(str_of(list[a].as_object(), "call_sid") == first);
    CHECK(str_of(list[a].as_object(), "call_status") == "in-progress");
    CHECK(str_of(list[a].as_object(), "direction") == "inbound");
    CHECK(str_of(list[a].as_object(), "account_sid") == kAccountSid);
    CHECK(str_of(list[a + 1].as_object(), "parent_call_sid") == first);
    CHECK(str_of(list[a + 1].as_object(), "call_status") == "no-answer");
    CHECK(str_of(list[a + 2].as_object(), "call_status") == "in-progress");
    CHECK_FALSE(list[a + 2].as_object().contains("customerData"));
    CHECK(str_of(list[b].as_object(), "call_sid") == second);
    CHECK(str_of(list[b].as_object(), "call_status") == "trying");  // the caller's call until an answer
    CHECK(str_of(list[b + 1].as_object(), "call_status") == "ringing");
  }
  CHECK(json::parse(w.call("GET", "/v1/Accounts/" + kOtherAccount + "/Calls").body).as_array().empty());

  auto one = w.call("GET", path + "/" + first);
  REQUIRE(one.status == 200);
  CHECK(str_of(json::parse(one.body).as_object(), "call_id") == "live-1@caller.test");
  auto bob = w.leg_sid(first, 1);
  auto child = w.call("GET", path + "/" + bob);
  REQUIRE(child.status == 200);
  auto info = json::parse(child.body).as_object();
  CHECK(str_of(info, "call_sid") == bob);
  CHECK(str_of(info, "parent_call_sid") == first);
  CHECK(str_of(info, "to") == "sip:bob@example.net");
  CHECK(int_of(info, "sip_status") == 200);
  auto gone = w.call("GET", path + "/0f0e0d0c-0000-4000-8000-00000000dead");
  CHECK(gone.status == 404);
  CHECK(LiveWorld::msg(gone) == "call not found");
}

TEST_CASE("updateCall listen_status: recorded in the call for its live listen, from either sid; 422 without one") {
  LiveWorld w;
  auto sid = w.answered_call();
  auto bob = w.leg_sid(sid, 1);
  CHECK(w.put(sid, R"({"listen_status":"pause"})").status == 422);
  // The listen session marks itself live in the call's state (app/session/listen_session).
  auto cur = w.calls.stored(sid);
  cur->state.dial->listen = "resume";
  REQUIRE(w.calls.apply(cur->state, cur->version, false, {}, {}, 0));
  CHECK(w.put(sid, R"({"listen_status":"pause"})").status == 202);
  CHECK(w.state(sid).dial->listen == "pause");
  CHECK(w.put(bob, R"({"listen_status":"silence"})").status == 202);
  CHECK(w.state(sid).dial->listen == "silence");
  CHECK(w.put(sid, R"({"listen_status":"resume"})").status == 202);
  CHECK(w.state(sid).dial->listen == "resume");
  CHECK(w.put(sid, R"({"listen_status":"stop"})").status == 400);
  CHECK(w.series(R"(dialplane_call_updates_total{op="listen",result="accepted"})") == "3");
  CHECK(w.series(R"(dialplane_call_updates_total{op="listen",result="refused"})") == "1");
  // The listen ended: its mark is gone.
  cur = w.calls.stored(sid);
  cur->state.dial->listen.clear();
  REQUIRE(w.calls.apply(cur->state, cur->version, false, {}, {}, 0));
  auto gone = w.put(sid, R"({"listen_status":"pause"})");
  CHECK(gone.status == 422);
  CHECK(LiveWorld::msg(gone).find("no listen is active on this call") != std::string::npos);
}
