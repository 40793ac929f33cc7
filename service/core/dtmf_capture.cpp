#include "core/dtmf_capture.hpp"

namespace dp::core {

namespace {

const Leg* answered_leg(const CallState& c) {
  if (!c.dial || c.dial->winner < 0) return nullptr;
  for (const auto& l : c.dial->legs)
    if (l.index == c.dial->winner) return &l;
  return nullptr;
}

const boost::json::value* verb_field(const Dial& d, std::string_view k) {
  return d.verb.is_object() ? d.verb.get_object().if_contains(k) : nullptr;
}

}  // namespace

std::optional<DtmfSide> dtmf_side(const CallState& c, const std::string& source_tag) {
  if (source_tag.empty() || c.status != CallStatus::InProgress) return std::nullopt;
  const Leg* leg = answered_leg(c);
  if (!leg) return std::nullopt;
  if (source_tag == c.from_tag) return DtmfSide::Parent;
  if (source_tag == leg->to_tag) return DtmfSide::Child;
  return std::nullopt;
}

Transition on_dtmf(CallState& c, const DtmfEvent& e, long long now_ms, double now) {
  Transition t;
  auto side = dtmf_side(c, e.source_tag);
  if (!side || e.key == 0) return t;
  auto hook = resolve_hook(verb_field(*c.dial, "dtmfHook"), c.call_hook);
  if (!hook) return t;
  auto watch = dtmf_watch(verb_field(*c.dial, "dtmfCapture"));
  bool parent = *side == DtmfSide::Parent;
  const auto& patterns = parent ? watch.parent : watch.child;
  if (patterns.empty()) return t;
  auto& buffer = parent ? c.dial->dtmf_parent : c.dial->dtmf_child;
  auto press = press_dtmf(buffer, e.key, now_ms, patterns);
  buffer = press.buffer;
  t.changed = true;
  if (!press.matched) return t;
  auto payload = parent ? parent_payload(c, now) : child_payload(c, *answered_leg(c), now);
  payload["dtmf"] = *press.matched;
  t.webhooks.push_back({Notification::Kind::VerbHook, *hook, std::move(payload), "dtmf"});
  return t;
}

}  // namespace dp::core
