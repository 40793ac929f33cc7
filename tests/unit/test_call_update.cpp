// updateCall: the body's edge parse (jambonz's messages first, then dialplane's), the decision per call state and
// addressed sid, the rtpengine commands, and the call list entries.
#include "core/call_info.hpp"
#include "core/call_update.hpp"

#include <doctest/doctest.h>

using namespace dp::core;
namespace json = boost::json;

namespace {

ParsedUpdate parse(const char* body) {
  return parse_call_update(json::parse(body));
}

// "<status> <msg>" of a refused body, "ok" for a valid one.
std::string refusal_of(const char* body) {
  auto p = parse(body);
  if (p.update) return "ok";
  return std::to_string(p.refusal.status) + " " + p.refusal.msg;
}

CallUpdate valid(const char* body) {
  auto p = parse(body);
  REQUIRE_MESSAGE(p.update, p.refusal.msg);
  return *p.update;
}

// A call whose dial forked to two legs; `answered`: leg 1 answered and the dialog is confirmed.
CallState call(bool answered) {
  CallState c;
  c.call_sid = "parent-sid";
  c.account_sid = "acct";
  c.call_id = "cid@host";
  c.from = "+15551230000";
  c.to = "+15559870000";
  c.from_tag = "caller-tag";
  c.rtp_node = "udp:10.0.0.5:22222";
  c.status = CallStatus::Ringing;
  Dial d;
  d.seq = 2;
  d.verb = json::object{{"verb", "dial"}, {"tag", json::object{{"crm", "x"}}}};
  for (int i = 0; i < 2; ++i) {
    Leg l;
    l.index = i;
    l.call_sid = "leg-" + std::to_string(i);
    l.type = "sip";
    l.to = "sip:t" + std::to_string(i) + "@x";
    l.status = CallStatus::Ringing;
    d.legs.push_back(l);
  }
  c.dial = d;
  if (answered) {
    c.status = CallStatus::InProgress;
    c.dial->winner = 1;
    c.dial->legs[1].status = CallStatus::InProgress;
    c.dial->legs[1].to_tag = "callee-tag";
    c.dial->legs[0].status = CallStatus::NoAnswer;
    c.h_entry = 7;
    c.h_id = 8;
  }
  return c;
}

std::string decided(const CallState& c, const std::string& sid, const char* body) {
  auto d = decide_update(c, sid, valid(body));
  switch (d.action) {
    case UpdateDecision::Action::Refuse:
      return std::to_string(d.refusal.status) + " " + d.refusal.msg;
    case UpdateDecision::Action::HangUp:
      return "hang up";
    case UpdateDecision::Action::CancelDial:
      return "cancel dial " + std::to_string(d.dial_seq);
    case UpdateDecision::Action::Media:
      return "media " + d.media.own_tag + " " + d.media.peer_tag;
    case UpdateDecision::Action::Listen:
      return "listen";
    case UpdateDecision::Action::Transcribe:
      return "transcribe";
  }
  return "?";
}

const std::string kIncompatible = "current call state is incompatible with requested action for call_sid ";

}  // namespace

TEST_CASE("updateCall body: jambonz's API-server rules and messages") {
  CHECK(refusal_of("[]") == "400 body: must be a JSON object");
  CHECK(refusal_of("{}") == "400 no valid options supplied to updateCall");
  // jambonz tests truthiness: an empty value is no operation at all.
  CHECK(refusal_of(R"({"call_status":""})") == "400 no valid options supplied to updateCall");
  CHECK(refusal_of(R"({"call_status":"completed","mute_status":"mute"})") ==
        "400 multiple options are not allowed in updateCall");
  CHECK(refusal_of(R"({"dtmf":{"digit":"1"},"mute_status":"mute"})") ==
        "400 multiple options are not allowed in updateCall");
  CHECK(refusal_of(R"({"call_status":"busy"})") == "400 invalid call_status");
  CHECK(refusal_of(R"({"mute_status":"on"})") == "400 invalid mute_status");
  CHECK(refusal_of(R"({"listen_status":"stop"})") == "400 invalid listen_status");
  CHECK(refusal_of(R"({"dtmf":{"duration":300}})") == "400 invalid dtmf");
  CHECK(refusal_of(R"({"dtmf":"1"})") == "400 invalid dtmf");
  // Stricter than jambonz: an unknown property is named rather than ignored.
  CHECK(refusal_of(R"({"mute_status":"mute","mute":true})") == "400 mute: unknown updateCall property");
}

TEST_CASE("updateCall body: the operations dialplane performs") {
  CHECK(valid(R"({"call_status":"completed"})").op == CallUpdate::Op::Complete);
  CHECK(valid(R"({"call_status":"no-answer"})").op == CallUpdate::Op::NoAnswer);
  CHECK(valid(R"({"mute_status":"mute"})").op == CallUpdate::Op::Mute);
  CHECK(valid(R"({"mute_status":"unmute"})").op == CallUpdate::Op::Unmute);
  // jambonz acts on call_status alone; a whisper beside it is ignored, even a malformed one.
  auto hang = valid(R"({"call_status":"completed","whisper":"http://x.test/app"})");
  CHECK(hang.op == CallUpdate::Op::Complete);
  CHECK_FALSE(hang.whisper);

  auto d = valid(R"({"dtmf":{"digit":"12*#ab"}})");
  CHECK(d.op == CallUpdate::Op::Dtmf);
  CHECK(d.dtmf.digits == "12*#AB");
  CHECK(d.dtmf.duration_ms == 250);  // jambonz's default
  CHECK(valid(R"({"dtmf":{"digit":5,"duration":1000}})").dtmf.digits == "5");
  CHECK(valid(R"({"dtmf":{"digit":"9","duration":100.0}})").dtmf.duration_ms == 100);
  CHECK(refusal_of(R"({"dtmf":{"digit":"1x"}})") == "400 dtmf.digit: must be 1 to 32 keys of 0-9, *, #, A-D");
  CHECK(refusal_of(R"({"dtmf":{"digit":"111111111111111111111111111111111"}})") ==
        "400 dtmf.digit: must be 1 to 32 keys of 0-9, *, #, A-D");
  CHECK(refusal_of(R"({"dtmf":{"digit":"1","duration":50}})") ==
        "400 dtmf.duration: must be a whole number of milliseconds from 100 to 5000");
  CHECK(refusal_of(R"({"dtmf":{"digit":"1","duration":"250"}})") ==
        "400 dtmf.duration: must be a whole number of milliseconds from 100 to 5000");
}

TEST_CASE("updateCall body: whisper forms") {
  auto play = valid(R"({"whisper":{"verb":"play","url":"https://u:p@media.test/a.wav","loop":3}})");
  CHECK(play.op == CallUpdate::Op::None);
  REQUIRE(play.whisper);
  CHECK(play.whisper->verb == WhisperRequest::Verb::Play);
  CHECK(play.whisper->url.url == "https://media.test/a.wav");  // credentials go to the fetch, not the URL
  CHECK(play.whisper->url.username == "u");
  CHECK(play.whisper->url.password == "p");

  auto say = valid(R"({"whisper":[{"verb":"say","text":["hello"],
    "synthesizer":{"vendor":"default","language":"en-US","voice":"amy"}}],"mute_status":"mute"})");
  CHECK(say.op == CallUpdate::Op::Mute);  // a whisper may follow one operation
  REQUIRE(say.whisper);
  CHECK(say.whisper->verb == WhisperRequest::Verb::Say);
  CHECK(say.whisper->text == "hello");
  CHECK(say.whisper->vendor == "default");
  CHECK(say.whisper->language == "en-US");
  CHECK(say.whisper->voice == "amy");

  CHECK(refusal_of(R"({"whisper":{"verb":"gather"}})") == "400 whisper: only play and say are allowed, not gather");
  CHECK(refusal_of(R"({"whisper":{"verb":"play"}})").rfind("400 whisper: play", 0) == 0);  // jambonz's spec
  CHECK(refusal_of(R"({"whisper":{"verb":"play","url":"ftp://x.test/a.wav"}})") ==
        "400 whisper.url: must be an absolute http(s) URL");
  CHECK(refusal_of(R"({"whisper":{"verb":"play","url":["http://x.test/a","http://x.test/b"]}})") ==
        "400 whisper.url: dialplane plays one URL per whisper");
  CHECK(refusal_of(R"({"whisper":[{"verb":"say","text":"a"},{"verb":"say","text":"b"}]})") ==
        "400 whisper: dialplane whispers one play or say verb per request");
  CHECK(refusal_of(R"({"whisper":{"verb":"say","text":"hi","synthesizer":{"vendor":"x","voice":{"n":1}}}})") ==
        "400 whisper.synthesizer.voice: must be a string");
  CHECK(refusal_of(R"({"whisper":"http://app.test/verbs"})").rfind("422 whisper: fetching verbs", 0) == 0);
  CHECK(refusal_of(R"({"whisper":{"url":"http://app.test/verbs"}})").rfind("422 whisper: fetching verbs", 0) == 0);
}

TEST_CASE("updateCall body: what a proxy does not do is 422 with the reason") {
  CHECK(refusal_of(R"({"stream_status":"pause","mute_status":"mute"})").rfind("422 stream_status", 0) == 0);
  CHECK(refusal_of(R"({"call_hook":"http://app.test/new"})").rfind("422 call_hook: redirecting", 0) == 0);
  CHECK(refusal_of(R"({"call_hook":"http://a.test/p","child_call_hook":"http://a.test/c"})").rfind("422 ", 0) == 0);
  CHECK(refusal_of(R"({"sip_request":{"method":"INFO"}})").rfind("422 sip_request: ", 0) == 0);
  CHECK(refusal_of(R"({"whisper":{"verb":"say","text":"x"},"media_path":"no-media"})").rfind("422 media_path", 0) == 0);
  // Alone, a property jambonz's API server does not count is no operation (its 400).
  CHECK(refusal_of(R"({"media_path":"no-media"})") == "400 no valid options supplied to updateCall");
}

TEST_CASE("completed hangs up an answered call through either sid") {
  auto ringing = call(false);
  CHECK(decided(ringing, "parent-sid", R"({"call_status":"completed"})") ==
        "422 " + kIncompatible + "parent-sid: the call is not answered (use call_status no-answer)");
  auto up = call(true);
  CHECK(decided(up, "parent-sid", R"({"call_status":"completed"})") == "hang up");
  CHECK(decided(up, "leg-1", R"({"call_status":"completed"})") == "hang up");  // one dialog on a proxy
  CHECK(decided(up, "leg-0", R"({"call_status":"completed"})") ==
        "422 " + kIncompatible + "leg-0: this leg did not answer the call");
  up.h_entry = -1;
  CHECK(decided(up, "parent-sid", R"({"call_status":"completed"})") ==
        "422 " + kIncompatible + "parent-sid: the answered dialog is not confirmed yet, retry");
}

TEST_CASE("no-answer cancels the ringing dial, on the parent sid only") {
  auto ringing = call(false);
  CHECK(decided(ringing, "parent-sid", R"({"call_status":"no-answer"})") == "cancel dial 2");
  CHECK(decided(ringing, "leg-0", R"({"call_status":"no-answer"})") ==
        "422 " + kIncompatible + "leg-0: no-answer cancels the whole dial: use the parent call_sid");
  CHECK(decided(call(true), "parent-sid", R"({"call_status":"no-answer"})") ==
        "422 " + kIncompatible + "parent-sid: the call is answered (use call_status completed)");
  auto app_running = call(false);
  app_running.dial.reset();
  CHECK(decided(app_running, "parent-sid", R"({"call_status":"no-answer"})") ==
        "422 " + kIncompatible + "parent-sid: no dial is ringing");
  auto failed = call(false);
  failed.dial->ended = true;
  CHECK(decided(failed, "parent-sid", R"({"call_status":"no-answer"})") ==
        "422 " + kIncompatible + "parent-sid: no dial is ringing");
}

TEST_CASE("media operations need a bridged call, the answered leg and the rtpengine anchor") {
  auto up = call(true);
  CHECK(decided(up, "parent-sid", R"({"mute_status":"mute"})") == "media caller-tag callee-tag");
  CHECK(decided(up, "leg-1", R"({"dtmf":{"digit":"1"}})") == "media callee-tag caller-tag");
  CHECK(decided(up, "leg-0", R"({"mute_status":"mute"})") == "422 " + kIncompatible + "leg-0: this leg is not bridged");
  CHECK(decided(call(false), "leg-1", R"({"whisper":{"verb":"say","text":"hi"}})") ==
        "422 " + kIncompatible + "leg-1: the call is not bridged to an answered leg");
  CHECK(decided(up, "other-sid", R"({"mute_status":"mute"})") == "404 call not found");

  auto unanchored = up;
  unanchored.rtp_node.clear();
  CHECK(decided(unanchored, "parent-sid", R"({"mute_status":"mute"})") ==
        "422 " + kIncompatible + "parent-sid: rtpengine does not anchor this call's media");
  auto no_tag = up;
  no_tag.dial->legs[1].to_tag.clear();
  CHECK(decided(no_tag, "parent-sid", R"({"mute_status":"mute"})") ==
        "422 " + kIncompatible + "parent-sid: the call's SIP tags are not known");
  auto bad_node = up;
  bad_node.rtp_node = "tcp:x";
  CHECK(decided(bad_node, "parent-sid", R"({"mute_status":"mute"})") ==
        "500 the call's rtpengine node is invalid: tcp:x");

  auto ended = up;
  ended.status = CallStatus::Completed;
  CHECK(decided(ended, "parent-sid", R"({"mute_status":"mute"})") ==
        "422 call session is gone for call_sid parent-sid");

  auto d = decide_update(up, "leg-1", valid(R"({"mute_status":"mute"})"));
  CHECK_FALSE(d.parent);
  CHECK(d.media.node.host == "10.0.0.5");
  CHECK(d.media.node.port == 22222);
  CHECK(d.media.call_id == "cid@host");
}

TEST_CASE("the rtpengine commands of an update") {
  MediaTarget m;
  m.call_id = "cid@host";
  m.own_tag = "callee-tag";
  m.peer_tag = "caller-tag";

  auto block = std::get<ng::BlockMedia>(mute_request(m, true));
  CHECK(block.call_id == "cid@host");
  REQUIRE(block.from);
  CHECK(block.from->by == ng::Party::By::FromTag);
  CHECK(block.from->value == "callee-tag");  // what the addressed leg sends
  auto unblock = std::get<ng::UnblockMedia>(mute_request(m, false));
  CHECK(unblock.from->value == "callee-tag");

  DtmfRequest dtmf{"1#", 400};
  auto keys = dtmf_requests(m, dtmf);
  REQUIRE(keys.size() == 2);
  auto first = std::get<ng::PlayDtmf>(keys[0]);
  CHECK(first.code == "1");
  CHECK(first.from.value == "caller-tag");  // generated by the other side: the addressed leg hears it
  CHECK(first.duration_ms == 400);
  CHECK(std::get<ng::PlayDtmf>(keys[1]).code == "#");

  auto play = std::get<ng::PlayMedia>(whisper_request(m, "/media/a.wav"));
  CHECK(play.to.value == "callee-tag");  // heard by the addressed leg only
  CHECK(play.file == "/media/a.wav");
  CHECK(play.repeat_times == 1);
}

TEST_CASE("transcribe_status: pause/resume of a bridged dial's transcribe, by either sid") {
  CHECK(valid(R"({"transcribe_status":"pause"})").op == CallUpdate::Op::TranscribePause);
  CHECK(valid(R"({"transcribe_status":"resume"})").op == CallUpdate::Op::TranscribeResume);
  CHECK(refusal_of(R"({"transcribe_status":"stop"})") == "400 invalid transcribe_status");
  CHECK(to_string(CallUpdate::Op::TranscribePause) == "transcribe_pause");
  auto up = call(true);
  CHECK(decided(up, "parent-sid", R"({"transcribe_status":"pause"})") ==
        "422 " + kIncompatible + "parent-sid: the dial has no transcribe");
  up.dial->verb.get_object()["transcribe"] = json::object{{"transcriptionHook", "/t"}};
  CHECK(decided(up, "parent-sid", R"({"transcribe_status":"pause"})") == "transcribe");
  CHECK(decided(up, "leg-1", R"({"transcribe_status":"resume"})") == "transcribe");
  CHECK(decided(up, "leg-0", R"({"transcribe_status":"pause"})") == "422 " + kIncompatible + "leg-0: this leg is not bridged");
  auto ringing = call(false);
  ringing.dial->verb.get_object()["transcribe"] = json::object{};
  CHECK(decided(ringing, "parent-sid", R"({"transcribe_status":"pause"})") ==
        "422 " + kIncompatible + "parent-sid: the call is not bridged to an answered leg");
  CHECK(record_transcribe_pause(up, true));
  CHECK(up.transcribe_paused);
  CHECK(call_state_from_json(to_json(up)).transcribe_paused);
  CHECK(record_transcribe_pause(up, false));
  CHECK_FALSE(up.transcribe_paused);
  CHECK_FALSE(record_transcribe_pause(ringing, true));
  CHECK_FALSE(ringing.transcribe_paused);
}

TEST_CASE("record_mute marks the addressed leg while bridged") {
  auto up = call(true);
  CHECK(record_mute(up, "parent-sid", true));
  CHECK(up.caller_muted);
  CHECK(record_mute(up, "leg-1", true));
  CHECK(up.dial->legs[1].muted);
  CHECK_FALSE(record_mute(up, "leg-0", true));
  CHECK_FALSE(up.dial->legs[0].muted);
  auto ringing = call(false);
  CHECK_FALSE(record_mute(ringing, "parent-sid", true));
  CHECK_FALSE(ringing.caller_muted);
}

TEST_CASE("listen_status reaches a live listen of a bridged call, through either sid") {
  CHECK(valid(R"({"listen_status":"silence"})").op == CallUpdate::Op::Listen);
  CHECK(valid(R"({"listen_status":"silence"})").listen_status == "silence");
  CHECK(to_string(CallUpdate::Op::Listen) == "listen");
  auto up = call(true);
  CHECK(decided(up, "parent-sid", R"({"listen_status":"pause"})") ==
        "422 " + kIncompatible + "parent-sid: no listen is active on this call");
  CHECK_FALSE(record_listen_status(up, "pause"));
  CHECK(up.dial->listen.empty());
  up.dial->listen = "resume";
  CHECK(decided(up, "parent-sid", R"({"listen_status":"pause"})") == "listen");
  CHECK(decided(up, "leg-1", R"({"listen_status":"pause"})") == "listen");
  CHECK(record_listen_status(up, "pause"));
  CHECK(up.dial->listen == "pause");
  auto ringing = call(false);
  ringing.dial->listen = "resume";
  CHECK(decided(ringing, "parent-sid", R"({"listen_status":"pause"})").rfind("422 ", 0) == 0);
  CHECK_FALSE(record_listen_status(ringing, "pause"));
}

TEST_CASE("call info: the parent then its legs, without customerData") {
  auto up = call(true);
  auto all = call_infos(up, 100.0);
  REQUIRE(all.size() == 3);
  CHECK(all[0].as_object().at("call_sid") == "parent-sid");
  CHECK_FALSE(all[0].as_object().contains("parent_call_sid"));
  CHECK(all[0].as_object().at("call_status") == "in-progress");
  CHECK(all[2].as_object().at("call_sid") == "leg-1");
  CHECK(all[2].as_object().at("parent_call_sid") == "parent-sid");
  CHECK(all[2].as_object().at("direction") == "outbound");
  CHECK_FALSE(all[2].as_object().contains("customerData"));

  auto one = call_info(up, "leg-0", 100.0);
  REQUIRE(one);
  CHECK(one->at("call_status") == "no-answer");
  CHECK_FALSE(call_info(up, "nope", 100.0));
}
