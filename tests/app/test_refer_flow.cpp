// The referHook over fakes: an in-dialog REFER Kamailio holds becomes the dial's referHook, and the hook's answer
// becomes the REFER's SIP answer (README semantics "referHook").
#include <doctest/doctest.h>

#include "app_world.hpp"
#include "core/refer.hpp"

namespace json = boost::json;
using namespace dp::test;

namespace {

const char* kReferHook = "http://app.test/refer";

// A call whose dial (with or without a referHook) was answered by the callee tagged "callee-tag".
std::string bridged_call(AppWorld& w, const std::string& call_id, bool with_hook) {
  json::object dial{{"verb", "dial"},
                    {"target", json::array{json::object{{"type", "sip"}, {"sipUri", "sip:bob@example.net"}}}}};
  if (with_hook) dial["referHook"] = kReferHook;
  w.hooks.answer_json(kCallHook, json::array{dial});
  auto req = AppWorld::invite_request(call_id);
  req["from_tag"] = "caller-tag";
  auto d = w.invite_body(req);
  auto sid = str_of(d, "call_sid");
  w.events(sid, 1, {{{"ev", "reply"}, {"leg", 0}, {"code", 200}, {"reason", "OK"}, {"to_tag", "callee-tag"}}});
  return sid;
}

dp::core::SipAnswer refer(AppWorld& w, const std::string& call_id, const std::string& from_tag,
                          const std::string& sid = "") {
  json::object body{{"call_id", call_id}, {"call_sid", sid}, {"from_tag", from_tag}, {"cseq", "7"},
                    {"msg", "REFER sip:x SIP/2.0\r\nRefer-To: <sip:+15550001111@pbx.test>\r\nX-Ticket: 9\r\n\r\n"}};
  auto req = dp::core::parse_refer_request(body);
  return w.run(w.flow.refer(req));
}

}  // namespace

TEST_CASE("a callee's REFER: the referHook gets the child's info and refer_details; its 2xx gives 202") {
  AppWorld w;
  auto sid = bridged_call(w, "refer-1@caller.test", true);
  w.hooks.answer_json(kReferHook, json::array{json::object{{"verb", "hangup"}}});  // verbs: logged, not run
  auto rpcs = w.kamailio.calls.size();
  auto a = refer(w, "refer-1@caller.test", "callee-tag");  // no call_sid: found by Call-ID
  CHECK(a.code == 202);
  CHECK(a.reason == "Accepted");
  auto sent = w.hooks.of_kind("refer");
  REQUIRE(sent.size() == 1);
  const auto& p = sent[0]->payload;
  auto child = str_of(p, "call_sid");
  CHECK(str_of(p, "parent_call_sid") == sid);
  CHECK(child != sid);
  CHECK(sent[0]->idempotency_key == sid + "-refer-callee-tag-7");
  const auto& d = p.at("refer_details").as_object();
  CHECK(str_of(d, "refer_to_user") == "+15550001111");
  CHECK(str_of(d, "referring_call_sid") == child);
  CHECK(str_of(d, "referred_call_sid") == sid);
  CHECK(str_of(d, "x_ticket") == "9");
  CHECK(w.kamailio.calls.size() == rpcs);  // nothing was done to the call
}

TEST_CASE("a caller's REFER: the parent's info; the hook's refusal or silence becomes the SIP answer") {
  AppWorld w;
  auto sid = bridged_call(w, "refer-2@caller.test", true);
  w.hooks.answer_failure(kReferHook, 603, "HTTP 603");
  auto a = refer(w, "refer-2@caller.test", "caller-tag", sid);
  CHECK(a.code == 603);
  CHECK(a.hdrs == "X-Reason: referHook answered 603\r\n");
  auto sent = w.hooks.of_kind("refer");
  REQUIRE(sent.size() == 1);
  CHECK(str_of(sent[0]->payload, "call_sid") == sid);
  CHECK(str_of(sent[0]->payload.at("refer_details").as_object(), "referring_call_sid") == sid);

  w.hooks.answer_failure(kReferHook, 0, "connect timeout");
  a = refer(w, "refer-2@caller.test", "caller-tag", sid);
  CHECK(a.code == 501);
  CHECK(a.hdrs == "X-Reason: referHook failed: connect timeout\r\n");
}

TEST_CASE("no referHook, a stranger's tag, an unknown call: 501, 501, 481, and no hook") {
  AppWorld w;
  auto sid = bridged_call(w, "refer-3@caller.test", false);
  auto a = refer(w, "refer-3@caller.test", "callee-tag", sid);
  CHECK(a.code == 501);
  CHECK(a.hdrs == "X-Reason: no referHook\r\n");
  a = refer(w, "refer-3@caller.test", "someone-else", sid);
  CHECK(a.code == 501);
  CHECK(a.hdrs == "X-Reason: no bridged dial on this call\r\n");
  a = refer(w, "nobody@caller.test", "caller-tag");
  CHECK(a.code == 481);
  CHECK(w.hooks.of_kind("refer").empty());
}
