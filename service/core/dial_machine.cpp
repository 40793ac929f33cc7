#include "core/dial_machine.hpp"
#include "core/dial_steps.hpp"

#include "core/encoding.hpp"
#include "core/json_get.hpp"

#include <boost/url/parse.hpp>
#include <algorithm>
#include <cmath>
#include <iterator>

namespace dp::core {

namespace json = boost::json;

std::optional<Hook> resolve_hook(const json::value* hook, const Hook& call_hook) {
  if (!hook || hook->is_null()) return std::nullopt;
  Hook h;
  if (hook->is_string()) {
    h.url = std::string(hook->get_string());
  } else if (hook->is_object()) {
    h = jget::hook(hook->get_object());
  } else {
    return std::nullopt;
  }
  if (h.url.empty()) return std::nullopt;
  if (move_url_credentials(h)) return std::nullopt;  // user without password, or credentials twice
  if (h.url.front() == '/') {
    auto base = boost::urls::parse_absolute_uri(call_hook.url);
    if (!base) return std::nullopt;
    std::string origin = std::string(base->scheme()) + "://" + std::string(base->encoded_authority());
    h.url = origin + h.url;
  }
  if (h.username.empty()) {
    h.username = call_hook.username;
    h.password = call_hook.password;
  }
  return h;
}

namespace {
std::string origin_of(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return {};
  return std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
}
}  // namespace

std::optional<Hook> resolve_media_url(const json::value* url, const Hook& call_hook) {
  if (!url || !url->is_string()) return std::nullopt;
  Hook own;
  own.url = std::string(url->get_string());
  if (own.url.empty() || move_url_credentials(own)) return std::nullopt;
  bool explicit_creds = !own.username.empty();
  auto h = resolve_hook(url, call_hook);
  if (!h) return std::nullopt;
  if (!explicit_creds && origin_of(h->url) != origin_of(call_hook.url)) {
    h->username.clear();
    h->password.clear();
  }
  return h;
}

namespace {
constexpr std::string_view kTimerNames[] = {"ring", "limit", "hold"};
}  // namespace

std::string url_with_query(const std::string& url, const boost::json::object& payload) {
  std::string q;
  for (const auto& [k, v] : payload) {
    if (v.is_null()) continue;
    std::string text;
    if (v.is_string())
      text = std::string(v.get_string());
    else
      text = boost::json::serialize(v);
    q += (q.empty() ? "" : "&") + percent_encode(k) + "=" + percent_encode(text);
  }
  if (q.empty()) return url;
  auto hash = url.find('#');
  std::string base = url.substr(0, hash);
  std::string fragment = hash == std::string::npos ? "" : url.substr(hash);
  return base + (base.find('?') == std::string::npos ? "?" : "&") + q + fragment;
}

std::string kind_name(const Notification& n) {
  switch (n.kind) {
    case Notification::Kind::CallStatus: return "call_status";
    case Notification::Kind::Action: return "action";
    case Notification::Kind::VerbHook: return n.label.empty() ? "hook" : n.label;
  }
  return "hook";
}

std::string timer_id(TimerKind kind, const std::string& call_sid, int dial_seq) {
  return std::string(kTimerNames[static_cast<int>(kind)]) + "|" + call_sid + "|" + std::to_string(dial_seq);
}

std::optional<TimerRef> parse_timer_id(std::string_view id) {
  auto a = id.find('|');
  auto b = id.rfind('|');
  if (a == std::string_view::npos || b == a) return std::nullopt;
  TimerRef r;
  auto name = id.substr(0, a);
  auto* it = std::find(std::begin(kTimerNames), std::end(kTimerNames), name);
  if (it == std::end(kTimerNames)) return std::nullopt;
  r.kind = static_cast<TimerKind>(it - std::begin(kTimerNames));
  r.call_sid = std::string(id.substr(a + 1, b - a - 1));
  try {
    r.dial_seq = std::stoi(std::string(id.substr(b + 1)));
  } catch (...) {
    return std::nullopt;
  }
  if (r.call_sid.empty()) return std::nullopt;
  return r;
}

namespace {

long long to_ms(double ts) { return static_cast<long long>(std::llround(ts * 1000.0)); }

void cancel_timer(Transition& t, TimerKind kind, const CallState& c, int seq) {
  t.timers.push_back({timer_id(kind, c.call_sid, seq), 0});
}

long long duration_s(double from, double to) {
  if (from <= 0 || to < from) return 0;
  return static_cast<long long>(std::llround(to - from));
}

}  // namespace

// ---- steps shared with the screening transitions (core/dial_steps.hpp) ----

void push_status(Transition& t, const CallState& c, const Leg& leg, double now) {
  if (c.call_status_hook.empty()) return;
  t.webhooks.push_back({Notification::Kind::CallStatus, c.call_status_hook, child_payload(c, leg, now), {}});
}

void push_parent_status(Transition& t, const CallState& c, double now) {
  if (c.call_status_hook.empty()) return;
  t.webhooks.push_back({Notification::Kind::CallStatus, c.call_status_hook, parent_payload(c, now), {}});
}

// Moves a leg to `st`; returns false when nothing changes (same status, or already final).
bool set_leg(Leg& leg, CallStatus st, int code, const std::string& reason, double ts) {
  if (is_final(leg.status)) return false;
  if (leg.status == st && leg.sip_status == code) return false;
  if (leg.status == st && !is_final(st)) {  // e.g. 180 then 183 without SDP: still "ringing"
    leg.sip_status = code;
    leg.sip_reason = reason;
    return false;
  }
  leg.status = st;
  leg.sip_status = code;
  leg.sip_reason = reason.empty() ? std::string(default_reason(code)) : reason;
  if (st == CallStatus::InProgress) leg.answered_at = ts;
  if (is_final(st)) leg.final_at = ts;
  return true;
}

Dial* active_dial(CallState& c, int dial_seq) {
  if (!c.dial || c.dial->seq != dial_seq || c.dial->ended) return nullptr;
  return &*c.dial;
}

Leg* leg_at(Dial& d, int leg) {
  if (leg < 0 || leg >= static_cast<int>(d.legs.size())) return nullptr;
  return &d.legs[leg];
}

namespace {

// The dial is over: fill the actionHook. jambonz reports the last leg to reach a final status.
void end_dial(Transition& t, CallState& c, std::string_view status, int sip, const std::string& sid,
              bool response_matters, double ts) {
  auto& d = *c.dial;
  d.ended = true;
  t.changed = true;
  t.action_response_matters = response_matters;
  cancel_timer(t, TimerKind::Ring, c, d.seq);
  const json::value* hook = nullptr;
  if (d.verb.is_object()) hook = d.verb.as_object().if_contains("actionHook");
  t.action_hook = resolve_hook(hook, c.call_hook);
  if (!t.action_hook) return;
  t.action_payload = action_payload(c, status, sip, sid, ts);
  // Beyond jambonz: say why the dial failed (e.g. "no route for +33…", "user not registered").
  for (const auto& l : d.legs)
    if (l.call_sid == sid && !l.sip_reason.empty()) t.action_payload["dial_sip_reason"] = l.sip_reason;
  if (response_matters) {
    d.action_pending = true;
    d.action_payload = t.action_payload;
  }
}

// Moves the transition's (status) webhooks behind the call's held ones.
// Only status webhooks are held; a verb's hook (dtmfHook…) is not about the call's status and goes now.
void hold(CallState& c, Transition& t) {
  std::vector<Notification> others;
  for (auto& w : t.webhooks) {
    if (w.kind == Notification::Kind::CallStatus)
      c.held_status.push_back(std::move(w.payload));
    else
      others.push_back(std::move(w));
  }
  t.webhooks = std::move(others);
}

const Leg* last_final_leg(const Dial& d) {
  const Leg* best = nullptr;
  for (const auto& l : d.legs)
    if (is_final(l.status) && (!best || l.final_at >= best->final_at)) best = &l;
  return best;
}

}  // namespace

json::object parent_payload(const CallState& c, double now) {
  json::object o{{"call_sid", c.call_sid},
                 {"direction", "inbound"},
                 {"from", c.from},
                 {"to", c.to},
                 {"call_id", c.call_id},
                 {"sbc_callid", c.call_id},
                 {"sip_status", c.sip_status},
                 {"sip_reason", c.sip_reason},
                 {"call_status", to_string(c.status)},
                 {"account_sid", c.account_sid},
                 {"application_sid", c.application_sid},
                 {"caller_name", c.caller_name},
                 {"originating_sip_ip", c.originating_sip_ip}};
  if (c.status == CallStatus::Completed && c.answered_at > 0)
    o["duration"] = duration_s(c.answered_at, c.ended_at > 0 ? c.ended_at : now);
  return o;
}

json::object child_payload(const CallState& c, const Leg& leg, double now) {
  json::object o{{"call_sid", leg.call_sid},
                 {"parent_call_sid", c.call_sid},
                 {"direction", "outbound"},
                 {"from", leg.from},
                 {"to", leg.to},
                 {"call_id", c.call_id},
                 {"sbc_callid", c.call_id},
                 {"sip_status", leg.sip_status},
                 {"sip_reason", leg.sip_reason},
                 {"call_status", to_string(leg.status)},
                 {"caller_id", leg.from},
                 {"account_sid", c.account_sid},
                 {"application_sid", c.application_sid},
                 {"target_type", leg.type}};
  if (leg.status == CallStatus::Completed)
    o["duration"] = duration_s(leg.answered_at, leg.final_at > 0 ? leg.final_at : now);
  if (c.dial && c.dial->verb.is_object())
    if (auto* tag = c.dial->verb.as_object().if_contains("tag")) o["customerData"] = *tag;
  return o;
}

json::object action_payload(const CallState& c, std::string_view dial_call_status, int dial_sip_status,
                            const std::string& dial_call_sid, double now) {
  auto o = parent_payload(c, now);
  o["dial_call_status"] = dial_call_status;
  o["dial_sip_status"] = dial_sip_status;
  o["dial_call_sid"] = dial_call_sid;
  o["dial_sbc_callid"] = c.call_id;
  if (c.dial && c.dial->verb.is_object())
    if (auto* id = c.dial->verb.as_object().if_contains("id"); id && id->is_string()) o["verb_id"] = *id;
  return o;
}

namespace {

Transition on_provisional(CallState& c, const Dial& d, Leg& leg, int leg_idx, int code, const std::string& reason,
                          bool sdp, double ts) {
  Transition t;
  if (leg.status == CallStatus::InProgress) {
    if (leg_idx == d.winner && !c.held_status.empty()) {
      // A provisional queued behind its 200 (no UAS sends one after its 2xx): report the ringing first,
      // then the held answer. Its ts cannot tell: Kamailio stamps it when a worker runs the reply route,
      // which can be after the 200's.
      Leg rang = leg;
      rang.status = status_for_sip(code, sdp);
      rang.sip_status = code;
      rang.sip_reason = reason.empty() ? std::string(default_reason(code)) : reason;
      release_held(c, t);
      t.webhooks.insert(t.webhooks.begin(),
                        {Notification::Kind::CallStatus, c.call_status_hook, child_payload(c, rang, ts), {}});
    }
    return t;
  }
  if (set_leg(leg, status_for_sip(code, sdp), code, reason, ts)) {
    t.changed = true;
    push_status(t, c, leg, ts);
  }
  return t;
}

}  // namespace

// The dial's first 2xx: the parent call is answered.
void take_answer(CallState& c, Dial& d, int leg_idx, bool rang, double ts, Transition& t) {
  d.winner = leg_idx;
  c.status = CallStatus::InProgress;
  c.sip_status = 200;
  c.sip_reason = "OK";
  c.answered_at = ts;
  c.caller_sdp.clear();  // only a dial's music needed it
  push_parent_status(t, c, ts);
  cancel_timer(t, TimerKind::Ring, c, d.seq);
  // timeLimit counts from the answer (jambonz starts it when the bridge is made).
  if (d.time_limit_s > 0)
    t.timers.push_back({timer_id(TimerKind::Limit, c.call_sid, d.seq), to_ms(ts) + d.time_limit_s * 1000LL});
  if (!rang && c.held_status.empty()) {
    hold(c, t);
    if (!c.held_status.empty())
      t.timers.push_back({timer_id(TimerKind::Hold, c.call_sid, d.seq), to_ms(ts) + kLateProvisionalHoldMs});
  }
}

namespace {

Transition on_success(CallState& c, Dial& d, Leg& leg, int leg_idx, int code, const std::string& reason, double ts) {
  Transition t;
  bool rang = leg.status != CallStatus::Trying;
  if (!set_leg(leg, CallStatus::InProgress, code, reason, ts)) return t;
  t.changed = true;
  push_status(t, c, leg, ts);
  if (d.winner < 0) take_answer(c, d, leg_idx, rang, ts, t);
  return t;
}

// Final failure on one branch. A `user` leg forked to several contacts fails only with its last branch.
Transition on_branch_failure(CallState& c, Leg& leg, int code, const std::string& reason, double ts) {
  Transition t;
  leg.branch_finals++;
  if (leg.branch_finals < leg.branches && !is_final(leg.status) && leg.status != CallStatus::InProgress) {
    t.changed = true;
    return t;
  }
  if (leg.status == CallStatus::InProgress) return t;
  if (set_leg(leg, status_for_sip(code, false), code, reason, ts)) {
    t.changed = true;
    push_status(t, c, leg, ts);
  }
  return t;
}

}  // namespace

Transition on_reply(CallState& c, int dial_seq, int leg_idx, int code, const std::string& reason, bool sdp,
                    double ts) {
  Dial* d = active_dial(c, dial_seq);
  if (!d) return {};
  Leg* leg = leg_at(*d, leg_idx);
  if (!leg || code <= 100) return {};

  d->fork = {};  // Kamailio forked this dial: a re-sent decision request can no longer be about it
  if (code < 200) return on_provisional(c, *d, *leg, leg_idx, code, reason, sdp, ts);
  if (code < 300) return on_success(c, *d, *leg, leg_idx, code, reason, ts);
  return on_branch_failure(c, *leg, code, reason, ts);
}

Transition on_branch_timeout(CallState& c, int dial_seq, int leg, double ts) {
  // A leg that rang and then timed out was CANCELled by the ring timer: jambonz reports no-answer/487.
  // A leg that never answered at all (unreachable target) failed with tm's local 408.
  Dial* d = active_dial(c, dial_seq);
  Leg* l = d ? leg_at(*d, leg) : nullptr;
  bool rang = l && (l->status == CallStatus::Ringing || l->status == CallStatus::EarlyMedia);
  if (rang) return on_reply(c, dial_seq, leg, 487, "Request Terminated", false, ts);
  return on_reply(c, dial_seq, leg, 408, "Request Timeout", false, ts);
}

Transition on_dialog_start(CallState& c, int dial_seq, int leg_idx, long long h_entry, long long h_id, double ts) {
  Transition t;
  if (!c.dial || c.dial->seq != dial_seq) return t;
  if (c.h_entry != h_entry || c.h_id != h_id) {
    c.h_entry = h_entry;
    c.h_id = h_id;
    t.changed = true;
  }
  // The 200's reply event normally comes first; if it was lost, the dialog start is the answer.
  if (c.dial->winner < 0 && !c.dial->ended) {
    auto r = on_reply(c, dial_seq, leg_idx, 200, "OK", true, ts);
    r.changed = true;
    return r;
  }
  return t;
}

Transition on_dialog_end(CallState& c, double ts) {
  Transition t;
  if (!c.dial || c.dial->winner < 0 || c.status != CallStatus::InProgress) return t;
  auto& d = *c.dial;
  auto& win = d.legs[d.winner];
  for (auto& l : d.legs) {
    if (&l == &win) continue;
    if (l.status == CallStatus::InProgress) {  // a second 200 in a race: the caller hung it up
      set_leg(l, CallStatus::Completed, 200, "OK", ts);
      push_status(t, c, l, ts);
    } else if (set_leg(l, CallStatus::NoAnswer, 487, "Request Terminated", ts)) {
      push_status(t, c, l, ts);
    }
  }
  set_leg(win, CallStatus::Completed, 200, "OK", ts);
  push_status(t, c, win, ts);
  c.status = CallStatus::Completed;
  c.ended_at = ts;
  t.call_ended = true;
  cancel_timer(t, TimerKind::Limit, c, d.seq);
  // The caller's leg ends with the callee's on a proxy, so the actionHook's verbs have no call to run on.
  if (!d.ended) end_dial(t, c, "completed", 200, win.call_sid, false, ts);
  push_parent_status(t, c, ts);
  t.changed = true;
  return t;
}

Transition on_caller_cancel(CallState& c, double ts) {
  Transition t;
  if (is_final(c.status) || c.status == CallStatus::InProgress) return t;
  // The parent's final state first: the actionHook below carries it.
  c.status = CallStatus::NoAnswer;
  c.sip_status = 487;
  c.sip_reason = "Request Terminated";
  c.ended_at = ts;
  if (c.dial && !c.dial->ended) {
    auto& d = *c.dial;
    for (auto& l : d.legs)
      if (set_leg(l, CallStatus::NoAnswer, 487, "Request Terminated", ts)) push_status(t, c, l, ts);
    const Leg* last = last_final_leg(d);
    end_dial(t, c, last ? to_string(last->status) : "no-answer", last ? last->sip_status : 487,
             last ? last->call_sid : std::string(), false, ts);
  }
  t.call_ended = true;
  if (c.dial) cancel_timer(t, TimerKind::Ring, c, c.dial->seq);
  t.changed = true;
  push_parent_status(t, c, ts);
  return t;
}

Transition on_dial_failed(CallState& c, int dial_seq, int leg_idx, int code, const std::string& reason,
                          bool ring_timeout, double ts) {
  Transition t;
  Dial* d = active_dial(c, dial_seq);
  if (!d) return t;
  ring_timeout = ring_timeout || d->ring_timed_out;
  for (auto& l : d->legs) {
    if (is_final(l.status)) continue;
    bool changed = ring_timeout ? set_leg(l, CallStatus::NoAnswer, 487, "Request Terminated", ts)
                                : set_leg(l, status_for_sip(code, false), code, reason, ts);
    if (changed) push_status(t, c, l, ts);
  }
  std::string status;
  int sip = 0;
  std::string sid;
  if (ring_timeout) {
    status = "no-answer";
    sip = 487;
    if (auto* l = last_final_leg(*d)) sid = l->call_sid;
  } else if (auto* l = last_final_leg(*d)) {
    status = std::string(to_string(l->status));
    sip = l->sip_status;
    sid = l->call_sid;
    if (l->screening == Screening::Declined) {  // answered, then screened out: nobody took the call
      status = "no-answer";
      sip = 487;
    }
  } else {
    status = std::string(to_string(status_for_sip(code, false)));
    sip = code;
    if (Leg* l = leg_at(*d, leg_idx)) sid = l->call_sid;
  }
  end_dial(t, c, status, sip, sid, true, ts);
  return t;
}

void release_held(CallState& c, Transition& t) {
  if (c.held_status.empty()) return;
  std::vector<Notification> held;
  for (auto& p : c.held_status)
    if (p.is_object()) held.push_back({Notification::Kind::CallStatus, c.call_status_hook, std::move(p.get_object()), {}});
  c.held_status.clear();
  t.webhooks.insert(t.webhooks.begin(), std::make_move_iterator(held.begin()), std::make_move_iterator(held.end()));
  if (c.dial) cancel_timer(t, TimerKind::Hold, c, c.dial->seq);
  t.changed = true;
}

void merge_into(Transition& into, Transition&& next) {
  into.changed = into.changed || next.changed;
  into.call_ended = into.call_ended || next.call_ended;
  into.webhooks.insert(into.webhooks.end(), std::make_move_iterator(next.webhooks.begin()),
                       std::make_move_iterator(next.webhooks.end()));
  into.timers.insert(into.timers.end(), next.timers.begin(), next.timers.end());
  if (next.action_hook) {
    into.action_hook = std::move(next.action_hook);
    into.action_payload = std::move(next.action_payload);
    into.action_response_matters = next.action_response_matters;
  }
}

void keep_status_order(CallState& c, Transition& t) {
  if (c.held_status.empty()) return;
  if (t.call_ended || t.action_hook) return release_held(c, t);
  // Still holding: later status webhooks queue up behind the held ones.
  if (!t.webhooks.empty()) t.changed = true;
  hold(c, t);
}

Transition on_hold_timer(CallState& c) {
  Transition t;
  release_held(c, t);
  return t;
}

Resume resume_decision(const CallState& c, int after_dial) {
  if (c.dial && c.dial->seq > after_dial && !c.dial->ended && c.dial->winner < 0 && !c.dial->fork.empty())
    return Resume::ReplayFork;
  return Resume::RunVerbs;
}

Transition on_action_answered(CallState& c, int dial_seq, const json::array& verbs) {
  Transition t;
  if (!c.dial || c.dial->seq != dial_seq || !c.dial->action_pending) return t;
  c.dial->action_pending = false;
  c.dial->action_payload = {};
  // jambonz: a non-empty verb array replaces the verbs after the dial; anything else continues with them.
  if (!verbs.empty()) c.pending_verbs = verbs;
  t.changed = true;
  return t;
}

Transition on_ring_timer(CallState& c, int dial_seq) {
  Transition t;
  Dial* d = active_dial(c, dial_seq);
  if (!d || d->winner >= 0 || d->ring_timed_out) return t;
  d->ring_timed_out = true;
  t.changed = true;
  return t;
}

bool first_delivery(CallState& c, const std::string& source, long long seq) {
  auto& slot = c.event_seq[source];
  if (!slot.is_array()) slot = json::array{};  // also replaces the high-water mark older versions stored
  auto& seen = slot.get_array();
  for (const auto& v : seen)
    if (v.is_int64() && v.get_int64() == seq) return false;
  if (seen.size() >= kEventSeqWindow) seen.erase(seen.begin());
  seen.push_back(seq);
  return true;
}

bool all_legs_final(const CallState& c) {
  if (!c.dial) return true;
  for (const auto& l : c.dial->legs)
    if (!is_final(l.status)) return false;
  return true;
}

Transition on_call_rejected(CallState& c, int code, const std::string& reason, double ts) {
  Transition t;
  if (is_final(c.status)) return t;
  c.status = status_for_sip(code, false);
  c.sip_status = code;
  c.sip_reason = reason;
  c.ended_at = ts;
  t.changed = true;
  t.call_ended = true;
  push_parent_status(t, c, ts);
  return t;
}

std::string sanitize_header_value(std::string_view s, std::size_t max_len) {
  std::string out;
  out.reserve(std::min(s.size(), max_len));
  for (char ch : s) {
    if (out.size() >= max_len) break;
    auto u = static_cast<unsigned char>(ch);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : ch);
  }
  return out;
}

}  // namespace dp::core
