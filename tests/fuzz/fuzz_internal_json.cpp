// libFuzzer: an rtpengine DTMF log datagram through its parser and a collector; a Kamailio request body
// (/kamailio/invite, /kamailio/events, /kamailio/dial-failed, /kamailio/refer) through the edge parse and the typed request
// parsers, then the event batch parser and every event through de-duplication and the dial state machine of
// a ringing two-leg call. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/dial_machine.hpp"
#include "core/dtmf.hpp"
#include "core/kamailio_events.hpp"
#include "core/kamailio_requests.hpp"
#include "core/json_get.hpp"
#include "core/provisioning.hpp"
#include "core/refer.hpp"

namespace jget = dp::core::jget;

namespace {

dp::core::CallState ringing_call() {
  dp::core::CallState c;
  c.call_sid = "c1";
  c.account_sid = "a";
  c.call_hook.url = "http://127.0.0.1/call";
  c.call_status_hook.url = "http://127.0.0.1/status";
  dp::core::Dial d;
  d.seq = 1;
  d.started_at = 1;
  d.verb = boost::json::object{{"verb", "dial"}, {"actionHook", "/action"}};
  for (int i = 0; i < 2; ++i) {
    dp::core::Leg l;
    l.index = i;
    l.call_sid = "l" + std::to_string(i);
    l.type = i == 0 ? "phone" : "sip";
    l.to = i == 0 ? "15551230000" : "sip:b@example.com";
    l.branches = 1;
    d.legs.push_back(l);
  }
  c.dial = d;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  // rtpengine's DTMF log datagram, then the key through a collector
  if (auto ev = dp::core::parse_rtpengine_dtmf(std::string_view(reinterpret_cast<const char*>(data), size), err)) {
    (void)dp::core::press_dtmf({"*1", 5}, ev->key, static_cast<long long>(ev->timestamp * 1000), {"*1", "##", "9"});
  }
  (void)dp::core::parse_sip_head(std::string_view(reinterpret_cast<const char*>(data), size));
  auto body = jget::parse_object(std::string_view(reinterpret_cast<const char*>(data), size), err);
  if (!body) return 0;
  // invite / dial-failed requests, parsed as /kamailio/invite and /kamailio/dial-failed do
  auto invite = dp::core::parse_invite_request(*body);
  (void)dp::core::normalize_number(invite.ruri_user);
  (void)dp::core::parse_dial_failed_request(*body);
  // an in-dialog REFER (/kamailio/refer): its SIP head, who sent it on a bridged call, the hook's details
  auto refer = dp::core::parse_refer_request(*body);
  auto bridged = ringing_call();
  bridged.from_tag = "ft";
  bridged.dial->winner = 1;
  bridged.dial->legs[1].to_tag = "tt";
  if (auto parties = dp::core::refer_parties(bridged, refer)) (void)dp::core::refer_details(refer, *parties);
  (void)dp::core::refer_refused(static_cast<int>(refer.cseq.size()) * 100, refer.refer_to);
  // event batch: the edge parser, then every event through de-duplication and the dial state machine
  auto batch = dp::core::parse_event_batch(*body, 1.0);
  if (!batch) return 0;
  auto call = ringing_call();
  for (const auto& ev : batch->events) {
    bool fresh = false;
    dp::core::ScreenEffects fx;
    auto t = dp::core::apply_event(call, batch->source, ev, fresh, fx);
    dp::core::keep_status_order(call, t);
  }
  return 0;
}
