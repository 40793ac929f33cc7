#include "core/screening.hpp"

#include "core/amd_detector.hpp"
#include "core/dial_steps.hpp"

#include <algorithm>

namespace dp::core {

namespace json = boost::json;

const json::value* confirm_hook_of(const json::object& dial_verb, const json::object& target) {
  auto usable = [](const json::value* v) {
    return v && ((v->is_string() && !v->get_string().empty()) || v->is_object());
  };
  if (auto* own = target.if_contains("confirmHook"); usable(own)) return own;
  if (auto* dial = dial_verb.if_contains("confirmHook"); usable(dial)) return dial;
  return nullptr;
}

bool voicemail_safe(const json::object& dial_verb) {
  return amd::voicemail_safe_of(dial_verb);
}

namespace {

Leg* held_leg(CallState& c, int dial_seq, int leg) {
  Dial* d = active_dial(c, dial_seq);
  Leg* l = d ? leg_at(*d, leg) : nullptr;
  return l && l->screening == Screening::Held ? l : nullptr;
}

// A held leg that stops: it was answered, so its own call completes.
void end_held(Transition& t, CallState& c, Leg& l, double ts, ScreenEffects& effects) {
  l.screening = Screening::Declined;
  if (set_leg(l, CallStatus::Completed, 200, "OK", ts)) push_status(t, c, l, ts);
  effects.bye.push_back(l.index);
  t.changed = true;
}

}  // namespace

Transition on_held(CallState& c, int dial_seq, int leg, const std::string& to_tag, const HeldAnswer& held, double ts,
                   ScreenEffects& effects) {
  Transition t;
  if (!c.dial || c.dial->seq != dial_seq) return t;
  Leg* l = leg_at(*c.dial, leg);
  if (!l || l->screening != Screening::None) return t;  // unknown leg, or a repeat
  l->to_tag = to_tag;
  l->held = held;
  l->screening = Screening::Held;
  c.dial->fork = {};  // Kamailio forked this dial
  t.changed = true;
  // jambonz: the child is in progress once it answers, before its confirm app runs.
  if (set_leg(*l, CallStatus::InProgress, 200, "OK", ts)) push_status(t, c, *l, ts);
  if (!still_screening(c, dial_seq, leg)) end_held(t, c, *l, ts, effects);
  return t;
}

bool still_screening(const CallState& c, int dial_seq, int leg) {
  if (!c.dial || c.dial->seq != dial_seq || c.dial->ended || c.dial->winner >= 0 || c.dial->ring_timed_out)
    return false;
  if (is_final(c.status) || leg < 0 || leg >= static_cast<int>(c.dial->legs.size())) return false;
  return c.dial->legs[leg].screening == Screening::Held;
}

Transition on_screen_accepted(CallState& c, int dial_seq, int leg, double ts, ScreenEffects& effects) {
  Transition t;
  Leg* l = held_leg(c, dial_seq, leg);
  if (!l) return t;
  if (!still_screening(c, dial_seq, leg)) {
    end_held(t, c, *l, ts, effects);
    return t;
  }
  l->screening = Screening::Accepted;
  t.changed = true;
  effects.release = true;
  take_answer(c, *c.dial, leg, true, ts, t);
  for (auto& other : c.dial->legs)
    if (other.index != leg && other.screening == Screening::Held) end_held(t, c, other, ts, effects);
  return t;
}

Transition on_screen_declined(CallState& c, int dial_seq, int leg, double ts, ScreenEffects& effects) {
  Transition t;
  Leg* l = held_leg(c, dial_seq, leg);
  if (!l) {
    // The dial may be over already (caller gone, ring timeout): a leg still marked held is ended all the same.
    if (c.dial && c.dial->seq == dial_seq && leg >= 0 && leg < static_cast<int>(c.dial->legs.size()) &&
        c.dial->legs[leg].screening == Screening::Held)
      end_held(t, c, c.dial->legs[leg], ts, effects);
    return t;
  }
  end_held(t, c, *l, ts, effects);
  return t;
}

Transition on_screen_dtmf(CallState& c, const std::string& source_tag, char key) {
  Transition t;
  if (!c.dial || source_tag.empty() || key == 0) return t;
  for (auto& l : c.dial->legs) {
    if (l.screening != Screening::Held || l.to_tag != source_tag) continue;
    if (l.screen_digits.size() < 64) l.screen_digits.push_back(key);  // a gather never needs more
    t.changed = true;
  }
  return t;
}

Transition on_screen_digits_taken(CallState& c, int dial_seq, int leg, std::size_t count) {
  Transition t;
  Leg* l = held_leg(c, dial_seq, leg);
  if (!l || count == 0) return t;
  l->screen_digits.erase(0, std::min(count, l->screen_digits.size()));
  t.changed = true;
  return t;
}

std::optional<std::string> forbidden_confirm_verb(const json::array& verbs) {
  static const std::vector<std::string> allowed{"play", "say", "gather", "pause", "hangup", "tag", "config"};
  for (const auto& v : verbs) {
    if (!v.is_object()) return std::string("?");
    auto* name = v.get_object().if_contains("verb");
    std::string n = name && name->is_string() ? std::string(name->get_string()) : std::string("?");
    if (std::find(allowed.begin(), allowed.end(), n) == allowed.end()) return n;
  }
  return std::nullopt;
}

}  // namespace dp::core
