// Screening a held callee over fakes (app/session/screening): what dialplane tells rtpengine and Kamailio when a
// screened leg's 2xx is held, when its confirm app accepts it, and when it declines it.
#include <doctest/doctest.h>

#include "app_world.hpp"
#include "core/ng_protocol.hpp"

namespace json = boost::json;
namespace ng = dp::core::ng;
using namespace dp::test;

namespace {

const char* kSdp = kCallerSdp;

json::object screened_invite(AppWorld& w, const std::string& call_id) {
  json::object dial{{"verb", "dial"},
                    {"actionHook", "/action"},
                    {"target", json::array{json::object{{"type", "sip"},
                                                        {"sipUri", "sip:bob@example.net"},
                                                        {"confirmHook", "/confirm"}},
                                           json::object{{"type", "sip"}, {"sipUri", "sip:carol@example.net"}}}}};
  w.hooks.answer_json(kCallHook, json::array{dial});
  auto r = AppWorld::invite_request(call_id);
  r["from_tag"] = "caller-tag";
  r["sdp"] = kSdp;
  return w.invite_body(r);
}

json::object held_event(int leg, const std::string& tag) {
  return {{"ev", "held"},
          {"leg", leg},
          {"code", 200},
          {"to_tag", tag},
          {"contact", "sip:bob@192.0.2.20:5060"},
          {"from", "<sip:15557654321@caller.test>;tag=caller-tag"},
          {"to", "<sip:bob@example.net>;tag=" + tag},
          {"cseq", "1"},
          {"via_branch", "z9hG4bKab.cd.1"},
          {"vias", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKab.cd.1, SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1"},
          {"rr", "<sip:127.0.0.1:5070;lr>"},
          {"sdp", kSdp}};
}

}  // namespace

TEST_CASE("screening: only the target with a confirmHook is marked in the fork") {
  AppWorld w;
  auto d = screened_invite(w, "scr-0@caller.test");
  REQUIRE(str_of(d, "action") == "fork");
  const auto& branches = d.at("branches").as_array();
  CHECK(branches[0].as_object().contains("screen"));
  CHECK_FALSE(branches[1].as_object().contains("screen"));
}

TEST_CASE("screening: an empty confirm app accepts; the caller is answered with that callee") {
  AppWorld w;
  w.hooks.answer_json("http://app.test/confirm", json::array{});
  auto d = screened_invite(w, "scr-1@caller.test");
  auto sid = str_of(d, "call_sid");
  w.media.requests.clear();
  CHECK(w.events(sid, 1, {held_event(0, "bob-tag")}) == 1);

  using C = ng::Command;
  // isolation (caller blocked around the answer, callee silenced toward it), then the release
  CHECK(w.media.commands() == std::vector<C>{C::BlockMedia, C::Answer, C::BlockMedia, C::SilenceMedia,
                                            C::SilenceMedia, C::Answer, C::UnblockMedia, C::UnsilenceMedia,
                                            C::UnsilenceMedia, C::StopMedia});
  const auto& answer = std::get<ng::Answer>(w.media.requests[1].request);
  CHECK(answer.to_tag == "bob-tag");
  CHECK(answer.via_branch == "z9hG4bKab.cd.1");
  const auto& silence = std::get<ng::SilenceMedia>(w.media.requests[4].request);
  CHECK(silence.from.value == "bob-tag");
  CHECK(silence.to_tag == "caller-tag");

  // one command: Kamailio's tm cancels the target still ringing when it sends that answer
  CHECK(w.kamailio.of_method("tm.cancel").empty());
  auto reply = w.kamailio.of_method("dp.answer");
  REQUIRE(reply.size() == 1);
  CHECK(reply[0]->args[2] == "bob-tag");
  CHECK(reply[0]->args[3] == "sip:bob@192.0.2.20:5060");
  auto confirm = w.hooks.of_kind("confirm");
  REQUIRE(confirm.size() == 1);
  CHECK(str_of(confirm[0]->payload, "parent_call_sid") == sid);

  auto cur = w.run(w.calls.load(sid));
  REQUIRE(cur);
  CHECK(cur->state.dial->winner == 0);
  CHECK(cur->state.status == dp::core::CallStatus::InProgress);
}

TEST_CASE("screening: a verb a proxy cannot run in a confirm app declines the leg") {
  AppWorld w;
  w.hooks.answer_json("http://app.test/confirm",
                      json::array{json::object{{"verb", "dial"}, {"target", json::array{}}}});
  auto d = screened_invite(w, "scr-2@caller.test");
  auto sid = str_of(d, "call_sid");
  w.events(sid, 1, {held_event(0, "bob-tag")});
  CHECK(w.kamailio.of_method("dp.answer").empty());
  auto bye = w.kamailio.of_method("dp.bye");
  REQUIRE(bye.size() == 1);
  CHECK(bye[0]->args[2] == "fail");  // its tm branch is failed too: the caller must not wait for it
  auto cur = w.run(w.calls.load(sid));
  REQUIRE(cur);
  CHECK(cur->state.dial->winner == -1);
  CHECK(cur->state.dial->legs[0].status == dp::core::CallStatus::Completed);
}

TEST_CASE("screening: a held answer after another leg won is ended at once") {
  AppWorld w;
  auto d = screened_invite(w, "scr-3@caller.test");
  auto sid = str_of(d, "call_sid");
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 1}, {"code", 200}, {"reason", "OK"}, {"to_tag", "carol-tag"}}});
  w.events(sid, 1, {held_event(0, "bob-tag")});
  CHECK(w.hooks.of_kind("confirm").empty());
  auto bye = w.kamailio.of_method("dp.bye");
  REQUIRE(bye.size() == 1);
}
