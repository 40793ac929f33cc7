#include "core/call_model.hpp"

#include "core/json_get.hpp"

namespace dp::core {

namespace json = boost::json;

std::string_view to_string(CallStatus s) {
  switch (s) {
    case CallStatus::Trying: return "trying";
    case CallStatus::Ringing: return "ringing";
    case CallStatus::EarlyMedia: return "early-media";
    case CallStatus::InProgress: return "in-progress";
    case CallStatus::Completed: return "completed";
    case CallStatus::Failed: return "failed";
    case CallStatus::Busy: return "busy";
    case CallStatus::NoAnswer: return "no-answer";
  }
  return "failed";
}

std::optional<CallStatus> call_status_from_string(std::string_view s) {
  for (auto st : {CallStatus::Trying, CallStatus::Ringing, CallStatus::EarlyMedia, CallStatus::InProgress,
                  CallStatus::Completed, CallStatus::Failed, CallStatus::Busy, CallStatus::NoAnswer})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

bool is_final(CallStatus s) {
  return s == CallStatus::Completed || s == CallStatus::Failed || s == CallStatus::Busy ||
         s == CallStatus::NoAnswer;
}

CallStatus status_for_sip(int code, bool has_sdp) {
  if (code == 100) return CallStatus::Trying;
  if (code == 180 || code == 183) return has_sdp ? CallStatus::EarlyMedia : CallStatus::Ringing;
  if (code > 100 && code < 200) return CallStatus::Ringing;
  if (code >= 200 && code < 300) return CallStatus::InProgress;
  if (code == 487) return CallStatus::NoAnswer;
  if (code == 486 || code == 600) return CallStatus::Busy;
  return CallStatus::Failed;
}

std::string_view default_reason(int code) {
  switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 480: return "Temporarily Unavailable";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    default: return code < 300 ? "OK" : "Failed";
  }
}

namespace {
using jget::str;
double num(const json::object& o, std::string_view k) { return jget::number(o, k); }
long long integer(const json::object& o, std::string_view k, long long dflt) { return jget::integer(o, k, dflt); }
CallStatus status(const json::object& o, std::string_view k) {
  return call_status_from_string(str(o, k)).value_or(CallStatus::Failed);
}
Hook hook_of(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? jget::hook(v->get_object()) : Hook{};
}
json::object dtmf_to_json(const DtmfBuffer& b) { return {{"keys", b.keys}, {"last_ms", b.last_ms}}; }
DtmfBuffer dtmf_of(const json::object& o, std::string_view k) {
  DtmfBuffer b;
  auto* v = o.if_contains(k);
  if (!v || !v->is_object()) return b;
  b.keys = str(v->get_object(), "keys");
  b.last_ms = integer(v->get_object(), "last_ms", 0);
  return b;
}
}  // namespace

std::string_view to_string(Screening s) {
  switch (s) {
    case Screening::Held: return "held";
    case Screening::Accepted: return "accepted";
    case Screening::Declined: return "declined";
    case Screening::None: break;
  }
  return "none";
}

namespace {
Screening screening_of(std::string_view s) {
  if (s == "held") return Screening::Held;
  if (s == "accepted") return Screening::Accepted;
  if (s == "declined") return Screening::Declined;
  return Screening::None;
}
}  // namespace

json::object to_json(const HeldAnswer& h) {
  return {{"contact", h.contact}, {"from", h.from}, {"to", h.to},     {"cseq", h.cseq},
          {"via_branch", h.via_branch}, {"vias", h.vias}, {"rr", h.rr}, {"sdp", h.sdp}};
}

HeldAnswer held_answer_from_json(const json::object& o) {
  return {str(o, "contact"), str(o, "from"),  str(o, "to"), str(o, "cseq"),
          str(o, "via_branch"), str(o, "vias"), str(o, "rr"), str(o, "sdp")};
}

static json::object leg_fields(const Leg& l) {
  return {{"index", l.index},         {"call_sid", l.call_sid},       {"type", l.type},
          {"to", l.to},               {"from", l.from},               {"branches", l.branches},
          {"branch_finals", l.branch_finals}, {"status", to_string(l.status)}, {"sip_status", l.sip_status},
          {"sip_reason", l.sip_reason}, {"answered_at", l.answered_at}, {"final_at", l.final_at},
          {"to_tag", l.to_tag},       {"muted", l.muted}};
}

json::object to_json(const Leg& l) {
  json::object o = leg_fields(l);
  if (l.screened) o["screened"] = true;
  if (l.screening != Screening::None) {
    o["screening"] = to_string(l.screening);
    o["held"] = to_json(l.held);
    o["screen_digits"] = l.screen_digits;
  }
  return o;
}


Leg leg_from_json(const json::object& o) {
  Leg l;
  l.index = static_cast<int>(integer(o, "index", 0));
  l.call_sid = str(o, "call_sid");
  l.type = str(o, "type");
  l.to = str(o, "to");
  l.from = str(o, "from");
  l.branches = static_cast<int>(integer(o, "branches", 0));
  l.branch_finals = static_cast<int>(integer(o, "branch_finals", 0));
  l.status = status(o, "status");
  l.sip_status = static_cast<int>(integer(o, "sip_status", 0));
  l.sip_reason = str(o, "sip_reason");
  l.answered_at = num(o, "answered_at");
  l.final_at = num(o, "final_at");
  l.to_tag = str(o, "to_tag");
  if (auto* v = o.if_contains("muted"); v && v->is_bool()) l.muted = v->get_bool();
  if (auto* v = o.if_contains("screened"); v && v->is_bool()) l.screened = v->get_bool();
  l.screening = screening_of(str(o, "screening"));
  if (auto* v = o.if_contains("held"); v && v->is_object()) l.held = held_answer_from_json(v->get_object());
  l.screen_digits = str(o, "screen_digits");
  return l;
}

json::object to_json(const Dial& d) {
  json::array legs;
  for (const auto& l : d.legs) legs.push_back(to_json(l));
  return {{"seq", d.seq},
          {"verb", d.verb},
          {"legs", std::move(legs)},
          {"winner", d.winner},
          {"ended", d.ended},
          {"ring_timed_out", d.ring_timed_out},
          {"started_at", d.started_at},
          {"timeout_s", d.timeout_s},
          {"time_limit_s", d.time_limit_s},
          {"fork", d.fork},
          {"action_pending", d.action_pending},
          {"action_payload", d.action_payload},
          {"music_file", d.music_file},
          {"listen", d.listen},
          {"dtmf_parent", dtmf_to_json(d.dtmf_parent)},
          {"dtmf_child", dtmf_to_json(d.dtmf_child)}};
}

Dial dial_from_json(const json::object& o) {
  Dial d;
  d.seq = static_cast<int>(integer(o, "seq", 0));
  if (auto* v = o.if_contains("verb")) d.verb = *v;
  if (auto* v = o.if_contains("legs"); v && v->is_array())
    for (const auto& l : v->get_array()) d.legs.push_back(leg_from_json(l.as_object()));
  d.winner = static_cast<int>(integer(o, "winner", -1));
  if (auto* v = o.if_contains("ended"); v && v->is_bool()) d.ended = v->get_bool();
  if (auto* v = o.if_contains("ring_timed_out"); v && v->is_bool()) d.ring_timed_out = v->get_bool();
  d.started_at = num(o, "started_at");
  d.timeout_s = static_cast<int>(integer(o, "timeout_s", 60));
  d.time_limit_s = static_cast<int>(integer(o, "time_limit_s", 0));
  if (auto* v = o.if_contains("fork"); v && v->is_object()) d.fork = v->get_object();
  if (auto* v = o.if_contains("action_pending"); v && v->is_bool()) d.action_pending = v->get_bool();
  if (auto* v = o.if_contains("action_payload"); v && v->is_object()) d.action_payload = v->get_object();
  d.music_file = str(o, "music_file");
  d.listen = str(o, "listen");
  d.dtmf_parent = dtmf_of(o, "dtmf_parent");
  d.dtmf_child = dtmf_of(o, "dtmf_child");
  return d;
}

json::object to_json(const CallState& c) {
  json::object o{{"call_sid", c.call_sid},
                 {"account_sid", c.account_sid},
                 {"application_sid", c.application_sid},
                 {"call_id", c.call_id},
                 {"from", c.from},
                 {"from_host", c.from_host},
                 {"to", c.to},
                 {"caller_name", c.caller_name},
                 {"originating_sip_ip", c.originating_sip_ip},
                 {"node", c.node},
                 {"cseq", c.cseq},
                 {"from_tag", c.from_tag},
                 {"caller_sdp", c.caller_sdp},
                 {"rtp_node", c.rtp_node},
                 {"rtp_set", c.rtp_set},
                 {"caller_muted", c.caller_muted},
                 {"transcribe_paused", c.transcribe_paused},
                 {"call_hook", hook_to_json(c.call_hook, false)},
                 {"call_status_hook", hook_to_json(c.call_status_hook, false)},
                 {"status", to_string(c.status)},
                 {"sip_status", c.sip_status},
                 {"sip_reason", c.sip_reason},
                 {"created_at", c.created_at},
                 {"answered_at", c.answered_at},
                 {"ended_at", c.ended_at},
                 {"h_entry", c.h_entry},
                 {"h_id", c.h_id},
                 {"branches_used", c.branches_used},
                 {"app_loaded", c.app_loaded},
                 {"pending_verbs", c.pending_verbs},
                 {"event_seq", c.event_seq},
                 {"held_status", c.held_status}};
  if (!c.caller_media.empty()) o["caller_media"] = c.caller_media;  // only for browsers: most calls are plain
  if (c.dial) o["dial"] = to_json(*c.dial);
  return o;
}

CallState call_state_from_json(const json::value& v) {
  const auto& o = v.as_object();
  CallState c;
  c.call_sid = str(o, "call_sid");
  if (c.call_sid.empty()) throw std::runtime_error("call state without call_sid");
  c.account_sid = str(o, "account_sid");
  c.application_sid = str(o, "application_sid");
  c.call_id = str(o, "call_id");
  c.from = str(o, "from");
  c.from_host = str(o, "from_host");
  c.to = str(o, "to");
  c.caller_name = str(o, "caller_name");
  c.originating_sip_ip = str(o, "originating_sip_ip");
  c.node = str(o, "node");
  c.cseq = str(o, "cseq");
  if (c.cseq.empty()) c.cseq = "1";
  c.from_tag = str(o, "from_tag");
  c.caller_sdp = str(o, "caller_sdp");
  c.caller_media = str(o, "caller_media");
  c.rtp_node = str(o, "rtp_node");
  c.rtp_set = static_cast<int>(integer(o, "rtp_set", 0));
  if (auto* p = o.if_contains("caller_muted"); p && p->is_bool()) c.caller_muted = p->get_bool();
  if (auto* p = o.if_contains("transcribe_paused"); p && p->is_bool()) c.transcribe_paused = p->get_bool();
  c.call_hook = hook_of(o, "call_hook");
  c.call_status_hook = hook_of(o, "call_status_hook");
  c.status = status(o, "status");
  c.sip_status = static_cast<int>(integer(o, "sip_status", 0));
  c.sip_reason = str(o, "sip_reason");
  c.created_at = num(o, "created_at");
  c.answered_at = num(o, "answered_at");
  c.ended_at = num(o, "ended_at");
  c.h_entry = integer(o, "h_entry", -1);
  c.h_id = integer(o, "h_id", -1);
  c.branches_used = static_cast<int>(integer(o, "branches_used", 0));
  if (auto* p = o.if_contains("app_loaded"); p && p->is_bool()) c.app_loaded = p->get_bool();
  if (auto* p = o.if_contains("pending_verbs"); p && p->is_array()) c.pending_verbs = p->get_array();
  if (auto* p = o.if_contains("event_seq"); p && p->is_object()) c.event_seq = p->get_object();
  if (auto* p = o.if_contains("held_status"); p && p->is_array()) c.held_status = p->get_array();
  if (auto* d = o.if_contains("dial"); d && d->is_object()) c.dial = dial_from_json(d->get_object());
  return c;
}

}  // namespace dp::core
