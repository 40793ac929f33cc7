#include "core/kamailio_events.hpp"

#include "core/json_get.hpp"


namespace dp::core {

namespace json = boost::json;

namespace {

EventKind kind_of(std::string_view ev) {
  if (ev == "reply") return EventKind::Reply;
  if (ev == "branch_timeout") return EventKind::BranchTimeout;
  if (ev == "dialog_start") return EventKind::DialogStart;
  if (ev == "dialog_end") return EventKind::DialogEnd;
  if (ev == "cancel" || ev == "caller_gone") return EventKind::CallerGone;
  if (ev == "held") return EventKind::Held;
  return EventKind::Unknown;
}

}  // namespace

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::Reply: return "reply";
    case EventKind::BranchTimeout: return "branch_timeout";
    case EventKind::DialogStart: return "dialog_start";
    case EventKind::DialogEnd: return "dialog_end";
    case EventKind::CallerGone: return "caller_gone";
    case EventKind::Held: return "held";
    case EventKind::Unknown: break;
  }
  return "unknown";
}

std::optional<EventBatch> parse_event_batch(const json::object& body, double now) {
  auto* evs = body.if_contains("events");
  if (!evs || !evs->is_array()) return std::nullopt;
  EventBatch b;
  b.source = jget::str(body, "node") + "|" + jget::str(body, "boot");
  for (const auto& v : evs->get_array()) {
    if (!v.is_object()) continue;
    const auto& o = v.get_object();
    KamailioEvent e;
    e.kind = kind_of(jget::str(o, "ev"));
    e.seq = jget::integer(o, "seq", -1);
    e.ts = jget::number(o, "ts", 0);  // Kamailio's $TV(Sn): "sec.usec"
    if (!(e.ts > 0)) e.ts = now;
    e.call_sid = jget::str(o, "call_sid");
    e.call_id = jget::str(o, "call_id");
    e.dial = static_cast<int>(jget::integer(o, "dial", 0));
    e.leg = static_cast<int>(jget::integer(o, "leg", -1));
    e.code = static_cast<int>(jget::integer(o, "code", 0));
    e.reason = jget::str(o, "reason");
    e.sdp = jget::boolean(o, "sdp");
    e.to_tag = jget::str(o, "to_tag");
    e.h_entry = jget::integer(o, "h_entry", -1);
    e.h_id = jget::integer(o, "h_id", -1);
    if (e.kind == EventKind::Held) e.held = held_answer_from_json(o);
    b.events.push_back(std::move(e));
  }
  return b;
}

namespace {
// The answering callee's tag: rtpengine names the B party by it (DTMF source, mute, whisper).
void remember_callee_tag(CallState& c, const KamailioEvent& e) {
  if (e.code < 200 || e.code >= 300 || e.to_tag.empty() || !c.dial || c.dial->seq != e.dial) return;
  if (c.dial->winner != e.leg) return;
  for (auto& l : c.dial->legs)
    if (l.index == e.leg && l.to_tag.empty()) l.to_tag = e.to_tag;
}
}  // namespace

Transition apply_event(CallState& c, const std::string& source, const KamailioEvent& e, bool& fresh,
                       ScreenEffects& screen) {
  fresh = e.seq < 0 || first_delivery(c, source, e.seq);
  if (!fresh) return {};
  Transition t;
  switch (e.kind) {
    case EventKind::Reply:
      t = on_reply(c, e.dial, e.leg, e.code, e.reason, e.sdp, e.ts);
      remember_callee_tag(c, e);
      break;
    case EventKind::BranchTimeout: t = on_branch_timeout(c, e.dial, e.leg, e.ts); break;
    case EventKind::DialogStart: t = on_dialog_start(c, e.dial, e.leg, e.h_entry, e.h_id, e.ts); break;
    case EventKind::DialogEnd: t = on_dialog_end(c, e.ts); break;
    case EventKind::CallerGone: t = on_caller_cancel(c, e.ts); break;
    case EventKind::Held: t = on_held(c, e.dial, e.leg, e.to_tag, e.held, e.ts, screen); break;
    case EventKind::Unknown: break;
  }
  if (e.seq >= 0) t.changed = true;  // the remembered seq must be saved
  return t;
}

}  // namespace dp::core
