// libFuzzer: a REST body through the edge parse and every provisioning model's validator; whatever validates
// must survive the round trip through its stored form (what Redis keeps is read back with the same parser)
// and the API form. The same body as an updateCall: parsed, decided on a ringing and a bridged call, and the
// rtpengine commands it becomes encoded. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/call_update.hpp"
#include "core/json_get.hpp"
#include "core/provisioning.hpp"

namespace {

template <class Parse>
void check(Parse parse, const boost::json::object& body) {
  std::string err;
  auto t = parse(body, err);
  if (!t) return;
  (void)dp::core::to_public_json(*t);
  auto stored = dp::core::to_json(*t);
  std::string err2;
  if (!parse(stored, err2)) __builtin_trap();  // a stored entity that cannot be read back
}

dp::core::CallState call(bool bridged) {
  dp::core::CallState c;
  c.call_sid = "parent";
  c.call_id = "cid";
  c.from_tag = "ft";
  c.rtp_node = "udp:127.0.0.1:2223";
  c.h_entry = c.h_id = 1;
  dp::core::Dial d;
  dp::core::Leg l;
  l.call_sid = "leg";
  l.to_tag = "tt";
  d.legs.push_back(l);
  c.dial = d;
  if (bridged) {
    c.status = dp::core::CallStatus::InProgress;
    c.dial->winner = 0;
  }
  return c;
}

void check_update(const boost::json::object& body) {
  using namespace dp::core;
  auto parsed = parse_call_update(boost::json::value(body));
  if (!parsed.update) return;
  static const CallState ringing = call(false), bridged = call(true);
  for (const auto* c : {&ringing, &bridged})
    for (const char* sid : {"parent", "leg", "other"}) {
      auto d = decide_update(*c, sid, *parsed.update);
      if (d.action != UpdateDecision::Action::Media) continue;
      (void)ng::to_bencode(mute_request(d.media, true));
      for (const auto& r : dtmf_requests(d.media, parsed.update->dtmf)) (void)ng::to_bencode(r);
      (void)ng::to_bencode(whisper_request(d.media, "/tmp/x.wav"));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  auto body = dp::core::jget::parse_object(std::string_view(reinterpret_cast<const char*>(data), size), err);
  if (!body) return 0;
  using namespace dp::core;
  check([](const boost::json::value& v, std::string& e) { return account_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return application_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return phone_number_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return sip_domain_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return carrier_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return lcr_route_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return sip_user_from_json(v, e); }, *body);
  check_update(*body);
  if (auto* h = body->if_contains("call_hook")) {
    if (auto hook = parse_hook(*h, err)) (void)redact_url_password(hook->url);
  }
  return 0;
}
