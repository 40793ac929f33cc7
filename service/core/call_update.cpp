#include "core/call_update.hpp"

#include "core/verb_validation.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace dp::core {

namespace json = boost::json;

std::string_view to_string(CallUpdate::Op op) {
  switch (op) {
    case CallUpdate::Op::None:
      return "whisper";
    case CallUpdate::Op::Complete:
      return "completed";
    case CallUpdate::Op::NoAnswer:
      return "no_answer";
    case CallUpdate::Op::Mute:
      return "mute";
    case CallUpdate::Op::Unmute:
      return "unmute";
    case CallUpdate::Op::Dtmf:
      return "dtmf";
    case CallUpdate::Op::Listen:
      return "listen";
    case CallUpdate::Op::TranscribePause:
      return "transcribe_pause";
    case CallUpdate::Op::TranscribeResume:
      return "transcribe_resume";
  }
  return "unknown";
}

namespace {

// Every updateCall property jambonz knows. `counted`: one of the operations jambonz's API server allows only one
// of per request. `unsupported`: why dialplane refuses it (422); nullptr when dialplane does it.
struct KnownKey {
  std::string_view name;
  bool counted;
  const char* unsupported;
};

constexpr const char* kNoConference = "conferences are not supported by dialplane";
constexpr const char* kNoRedirect = "redirecting a live call to a new application is not supported by dialplane yet";

constexpr std::array<KnownKey, 25> kKeys{{
    {"call_hook", true, kNoRedirect},
    {"child_call_hook", true, kNoRedirect},
    {"call_status", true, nullptr},
    {"listen_status", true, nullptr},
    {"transcribe_status", true, nullptr},
    {"conf_hold_status", true, kNoConference},
    {"conf_mute_status", true, kNoConference},
    {"mute_status", true, nullptr},
    {"sip_request", true,
     "in-dialog requests are not supported by dialplane: Kamailio proxies the dialog and would have to originate "
     "them"},
    {"record", true, "SIPREC recording is not supported by dialplane"},
    {"tag", true, "updating customerData is not supported by dialplane yet"},
    {"dtmf", true, nullptr},
    {"conferenceParticipantAction", true, kNoConference},
    {"dub", true, "dub tracks need a media server of the call's own; not supported by dialplane"},
    // Not counted by jambonz's API server: a whisper goes alone or after one operation; the rest are companions
    // of an operation or feature-server-only commands.
    {"whisper", false, nullptr},
    {"call_status_hook", false, kNoRedirect},
    {"waitHook", false, kNoConference},
    {"parent_call", false, kNoRedirect},
    {"child_call", false, kNoRedirect},
    {"boostAudioSignal", false, "dub tracks need a media server of the call's own; not supported by dialplane"},
    {"media_path", false, "rtpengine always anchors a dialplane call's media; media_path cannot change it"},
    {"stream_status", false, "stream_status is not supported by dialplane: use listen_status"},
    {"llm_tool_output", false, "llm verbs are not supported by dialplane"},
    {"tool_call_id", false, "llm verbs are not supported by dialplane"},
    {"llm_update", false, "llm verbs are not supported by dialplane"},
}};

const KnownKey* known_key(std::string_view name) {
  for (const auto& k : kKeys)
    if (k.name == name) return &k;
  return nullptr;
}

// JavaScript truthiness: jambonz tests `opts[prop] ? …`, so "", 0, false and null count as absent.
bool truthy(const json::value* v) {
  if (!v || v->is_null()) return false;
  if (v->is_bool()) return v->get_bool();
  if (v->is_string()) return !v->get_string().empty();
  if (v->is_int64()) return v->get_int64() != 0;
  if (v->is_uint64()) return v->get_uint64() != 0;
  if (v->is_double()) return v->get_double() != 0 && !std::isnan(v->get_double());
  return true;  // objects and arrays, even empty ones
}

ParsedUpdate refuse(int status, std::string msg) {
  ParsedUpdate p;
  p.refusal = {status, std::move(msg)};
  return p;
}

std::string str_of(const json::value* v) {
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// jambonz's API-server rules: one counted operation (call_hook + child_call_hook together is allowed), or a
// whisper alone. Returns the counted operation's key ("" for a whisper alone), or a refusal.
std::optional<UpdateRefusal> check_operations(const json::object& o, std::string& op_key) {
  int count = 0;
  for (const auto& [key, value] : o) {
    const KnownKey* k = known_key(key);
    if (!k) return UpdateRefusal{400, std::string(key) + ": unknown updateCall property"};
    if (k->counted && truthy(&value)) {
      ++count;
      op_key = std::string(key);
    }
  }
  if (count == 0 && !truthy(o.if_contains("whisper")))
    return UpdateRefusal{400, "no valid options supplied to updateCall"};
  bool hooks_pair = count == 2 && truthy(o.if_contains("call_hook")) && truthy(o.if_contains("child_call_hook"));
  if (count > 1 && !hooks_pair) return UpdateRefusal{400, "multiple options are not allowed in updateCall"};
  return std::nullopt;
}

// jambonz's value checks of the operations dialplane performs, with its messages.
std::optional<UpdateRefusal> check_values(const json::object& o) {
  auto one_of = [&](std::string_view key, std::initializer_list<std::string_view> allowed) {
    const json::value* v = o.if_contains(key);
    if (!truthy(v)) return true;
    std::string s = str_of(v);
    return std::find(allowed.begin(), allowed.end(), s) != allowed.end();
  };
  if (!one_of("call_status", {"completed", "no-answer"})) return UpdateRefusal{400, "invalid call_status"};
  if (!one_of("listen_status", {"pause", "silence", "resume"})) return UpdateRefusal{400, "invalid listen_status"};
  if (!one_of("mute_status", {"mute", "unmute"})) return UpdateRefusal{400, "invalid mute_status"};
  if (!one_of("transcribe_status", {"pause", "resume"})) return UpdateRefusal{400, "invalid transcribe_status"};
  const json::value* dtmf = o.if_contains("dtmf");
  if (truthy(dtmf) && !(dtmf->is_object() && truthy(dtmf->get_object().if_contains("digit"))))
    return UpdateRefusal{400, "invalid dtmf"};
  return std::nullopt;
}

// The first property present that dialplane cannot do, as a 422.
std::optional<UpdateRefusal> check_supported(const json::object& o) {
  for (const auto& [key, value] : o) {
    const KnownKey* k = known_key(key);
    if (k && k->unsupported && truthy(&value)) return UpdateRefusal{422, std::string(key) + ": " + k->unsupported};
  }
  return std::nullopt;
}

bool dtmf_key(char& ch) {
  if (ch >= 'a' && ch <= 'd') ch = static_cast<char>(ch - 'a' + 'A');
  return (ch >= '0' && ch <= '9') || ch == '*' || ch == '#' || (ch >= 'A' && ch <= 'D');
}

std::optional<long long> whole_number(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return v.get_uint64() <= 1000000 ? std::optional<long long>(v.get_uint64()) : std::nullopt;
  if (v.is_double() && std::abs(v.get_double()) < 1e6 && std::floor(v.get_double()) == v.get_double())
    return static_cast<long long>(v.get_double());
  return std::nullopt;
}

std::optional<UpdateRefusal> parse_dtmf(const json::object& d, DtmfRequest& out) {
  const json::value& digit = d.at("digit");
  if (auto n = whole_number(digit); n && *n > 0) {
    out.digits = std::to_string(*n);  // jambonz sends a number as it prints
  } else {
    out.digits = str_of(&digit);
  }
  bool keys_ok = !out.digits.empty() && out.digits.size() <= kDtmfMaxKeys;
  for (char& ch : out.digits) keys_ok = keys_ok && dtmf_key(ch);
  if (!keys_ok)
    return UpdateRefusal{400, "dtmf.digit: must be 1 to " + std::to_string(kDtmfMaxKeys) + " keys of 0-9, *, #, A-D"};
  if (const json::value* dur = d.if_contains("duration"); dur && !dur->is_null()) {
    auto ms = whole_number(*dur);
    if (!ms || *ms < kDtmfMinMs || *ms > kDtmfMaxMs)
      return UpdateRefusal{400, "dtmf.duration: must be a whole number of milliseconds from " +
                                    std::to_string(kDtmfMinMs) + " to " + std::to_string(kDtmfMaxMs)};
    out.duration_ms = static_cast<int>(*ms);
  }
  return std::nullopt;
}

// A string, or an array holding exactly one string (jambonz's play.url and say.text allow lists).
std::optional<std::string> single_string(const json::value* v) {
  if (v && v->is_array() && v->get_array().size() == 1) v = &v->get_array()[0];
  if (!v || !v->is_string() || v->get_string().empty()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<UpdateRefusal> parse_play(const json::object& verb, WhisperRequest& w) {
  auto url = single_string(verb.if_contains("url"));
  if (!url) return UpdateRefusal{400, "whisper.url: dialplane plays one URL per whisper"};
  std::string err;
  auto hook = parse_hook(json::value(*url), err);
  if (!hook) return UpdateRefusal{400, "whisper.url" + err.substr(std::string_view("hook").size())};
  w.verb = WhisperRequest::Verb::Play;
  w.url = std::move(*hook);
  return std::nullopt;
}

std::optional<UpdateRefusal> parse_say(const json::object& verb, WhisperRequest& w) {
  auto text = single_string(verb.if_contains("text"));
  if (!text) return UpdateRefusal{400, "whisper.text: dialplane says one text per whisper"};
  w.verb = WhisperRequest::Verb::Say;
  w.text = std::move(*text);
  if (const json::value* s = verb.if_contains("synthesizer"); s && s->is_object()) {
    const auto& synth = s->get_object();
    const json::value* voice = synth.if_contains("voice");
    if (voice && !voice->is_string() && !voice->is_null())
      return UpdateRefusal{400, "whisper.synthesizer.voice: must be a string"};
    w.vendor = str_of(synth.if_contains("vendor"));
    w.language = str_of(synth.if_contains("language"));
    w.voice = str_of(voice);
  }
  return std::nullopt;
}

// jambonz accepts one verb object, an array of verbs, or a URL to fetch verbs from (its call_hook, in fact).
std::optional<UpdateRefusal> parse_whisper(const json::value& v, WhisperRequest& out) {
  const json::value* verb = &v;
  if (v.is_array()) {
    if (v.get_array().size() != 1)
      return UpdateRefusal{400, "whisper: dialplane whispers one play or say verb per request"};
    verb = &v.get_array()[0];
  }
  bool fetch = v.is_string() ||
               (verb->is_object() && !verb->get_object().contains("verb") && verb->get_object().contains("url"));
  if (fetch)
    return UpdateRefusal{422,
                         "whisper: fetching verbs from a URL is not supported by dialplane; give a play or "
                         "say verb"};
  if (!verb->is_object()) return UpdateRefusal{400, "whisper: must be a play or say verb"};
  const auto& o = verb->get_object();
  std::string name = str_of(o.if_contains("verb"));
  if (name != "play" && name != "say")
    return UpdateRefusal{400, "whisper: only play and say are allowed, not " + (name.empty() ? "nothing" : name)};
  json::array app{*verb};
  auto checked = validate_app(app);  // jambonz's own verb rules and messages
  if (!checked.ok()) return UpdateRefusal{400, "whisper: " + *checked.error};
  const auto& normalised = checked.verbs[0].as_object();
  return name == "play" ? parse_play(normalised, out) : parse_say(normalised, out);
}

CallUpdate::Op op_of(const json::object& o, const std::string& op_key) {
  if (op_key == "call_status")
    return str_of(o.if_contains(op_key)) == "completed" ? CallUpdate::Op::Complete : CallUpdate::Op::NoAnswer;
  if (op_key == "mute_status")
    return str_of(o.if_contains(op_key)) == "mute" ? CallUpdate::Op::Mute : CallUpdate::Op::Unmute;
  if (op_key == "dtmf") return CallUpdate::Op::Dtmf;
  if (op_key == "listen_status") return CallUpdate::Op::Listen;
  if (op_key == "transcribe_status")
    return str_of(o.if_contains(op_key)) == "pause" ? CallUpdate::Op::TranscribePause : CallUpdate::Op::TranscribeResume;
  return CallUpdate::Op::None;
}

}  // namespace

ParsedUpdate parse_call_update(const json::value& body) {
  if (!body.is_object()) return refuse(400, "body: must be a JSON object");
  const auto& o = body.get_object();
  std::string op_key;
  if (auto r = check_operations(o, op_key)) return refuse(r->status, r->msg);
  if (auto r = check_values(o)) return refuse(r->status, r->msg);
  CallUpdate u;
  u.op = op_of(o, op_key);
  if (u.op == CallUpdate::Op::Listen) u.listen_status = str_of(o.if_contains("listen_status"));
  // jambonz acts on call_status alone: a whisper beside it is ignored, unchecked.
  bool ends = u.op == CallUpdate::Op::Complete || u.op == CallUpdate::Op::NoAnswer;
  if (auto r = check_supported(o)) return refuse(r->status, r->msg);
  if (u.op == CallUpdate::Op::Dtmf)
    if (auto r = parse_dtmf(o.at("dtmf").get_object(), u.dtmf)) return refuse(r->status, r->msg);
  if (const json::value* w = o.if_contains("whisper"); !ends && truthy(w)) {
    WhisperRequest wr;
    if (auto r = parse_whisper(*w, wr)) return refuse(r->status, r->msg);
    u.whisper = std::move(wr);
  }
  ParsedUpdate p;
  p.update = std::move(u);
  return p;
}

// ---------------------------------------------------------------- decisions

namespace {

UpdateDecision refusal(int status, std::string msg) {
  UpdateDecision d;
  d.refusal = {status, std::move(msg)};
  return d;
}

// jambonz's 422 text, with the reason after it.
UpdateDecision incompatible(const std::string& sid, std::string_view why) {
  return refusal(
      422, "current call state is incompatible with requested action for call_sid " + sid + ": " + std::string(why));
}

bool bridged(const CallState& c) {
  return c.status == CallStatus::InProgress && c.dial && c.dial->winner >= 0 &&
         c.dial->winner < static_cast<int>(c.dial->legs.size());
}

UpdateDecision decide_hang_up(const CallState& c, const std::string& sid, int leg) {
  if (c.status != CallStatus::InProgress)
    return incompatible(sid, "the call is not answered (use call_status no-answer)");
  if (leg >= 0 && (!c.dial || c.dial->winner != leg)) return incompatible(sid, "this leg did not answer the call");
  if (c.h_entry < 0 || c.h_id < 0) return incompatible(sid, "the answered dialog is not confirmed yet, retry");
  UpdateDecision d;
  d.action = UpdateDecision::Action::HangUp;
  return d;
}

UpdateDecision decide_cancel(const CallState& c, const std::string& sid, int leg) {
  // tm.cancel cancels every branch of the caller's INVITE: there is no cancelling one leg of a simring.
  if (leg >= 0) return incompatible(sid, "no-answer cancels the whole dial: use the parent call_sid");
  if (c.status == CallStatus::InProgress) return incompatible(sid, "the call is answered (use call_status completed)");
  if (!c.dial || c.dial->ended || c.dial->winner >= 0) return incompatible(sid, "no dial is ringing");
  UpdateDecision d;
  d.action = UpdateDecision::Action::CancelDial;
  d.dial_seq = c.dial->seq;
  return d;
}

UpdateDecision decide_media(const CallState& c, const std::string& sid, int leg) {
  if (!bridged(c)) return incompatible(sid, "the call is not bridged to an answered leg");
  const Leg& winner = c.dial->legs[c.dial->winner];
  if (leg >= 0 && leg != c.dial->winner) return incompatible(sid, "this leg is not bridged");
  if (c.rtp_node.empty()) return incompatible(sid, "rtpengine does not anchor this call's media");
  if (c.from_tag.empty() || winner.to_tag.empty()) return incompatible(sid, "the call's SIP tags are not known");
  auto node = ng::parse_node(c.rtp_node);
  if (!node) return refusal(500, "the call's rtpengine node is invalid: " + c.rtp_node);
  UpdateDecision d;
  d.action = UpdateDecision::Action::Media;
  d.parent = leg < 0;
  d.media.node = std::move(*node);
  d.media.call_id = c.call_id;
  d.media.own_tag = d.parent ? c.from_tag : winner.to_tag;
  d.media.peer_tag = d.parent ? winner.to_tag : c.from_tag;
  return d;
}

bool has_transcribe(const CallState& c) {
  if (!c.dial || !c.dial->verb.is_object()) return false;
  const auto* t = c.dial->verb.get_object().if_contains("transcribe");
  return t && t->is_object();
}

UpdateDecision decide_transcribe(const CallState& c, const std::string& sid, int leg) {
  if (!bridged(c)) return incompatible(sid, "the call is not bridged to an answered leg");
  if (leg >= 0 && leg != c.dial->winner) return incompatible(sid, "this leg is not bridged");
  if (!has_transcribe(c)) return incompatible(sid, "the dial has no transcribe");
  UpdateDecision d;
  d.action = UpdateDecision::Action::Transcribe;
  return d;
}

// The leg of the current dial that `sid` names: -1 for the parent, -2 for none.
int addressed_leg(const CallState& c, const std::string& sid) {
  if (sid == c.call_sid) return -1;
  if (!c.dial) return -2;
  for (const auto& l : c.dial->legs)
    if (l.call_sid == sid) return l.index;
  return -2;
}

}  // namespace

UpdateDecision decide_update(const CallState& c, const std::string& sid, const CallUpdate& u) {
  int leg = addressed_leg(c, sid);
  if (leg == -2) return refusal(404, "call not found");
  if (is_final(c.status)) return refusal(422, "call session is gone for call_sid " + sid);
  UpdateDecision d;
  switch (u.op) {
    case CallUpdate::Op::Complete:
      d = decide_hang_up(c, sid, leg);
      break;
    case CallUpdate::Op::NoAnswer:
      d = decide_cancel(c, sid, leg);
      break;
    case CallUpdate::Op::Listen:
      // The dial's nested listen streams the bridged call: either sid addresses it (jambonz: the parent's).
      if (!bridged(c) || c.dial->listen.empty()) {
        d = incompatible(sid, "no listen is active on this call");
      } else {
        d.action = UpdateDecision::Action::Listen;
      }
      break;
    case CallUpdate::Op::TranscribePause:
    case CallUpdate::Op::TranscribeResume:
      d = decide_transcribe(c, sid, leg);
      break;
    default:
      d = decide_media(c, sid, leg);
      break;
  }
  d.parent = leg < 0;
  return d;
}

ng::Request mute_request(const MediaTarget& m, bool mute) {
  if (mute) return ng::BlockMedia{m.call_id, ng::Party::from_tag(m.own_tag), {}};
  return ng::UnblockMedia{m.call_id, ng::Party::from_tag(m.own_tag), {}};
}

std::vector<ng::Request> dtmf_requests(const MediaTarget& m, const DtmfRequest& d) {
  std::vector<ng::Request> out;
  for (char key : d.digits) {
    ng::PlayDtmf p;
    p.call_id = m.call_id;
    p.from = ng::Party::from_tag(m.peer_tag);  // generated by the other side: the addressed leg hears it
    p.code = std::string(1, key);
    p.duration_ms = d.duration_ms;
    out.emplace_back(std::move(p));
  }
  return out;
}

ng::Request whisper_request(const MediaTarget& m, const std::string& file) {
  ng::PlayMedia p;
  p.call_id = m.call_id;
  p.to = ng::Party::from_tag(m.own_tag);
  p.file = file;
  p.repeat_times = 1;
  return p;
}

bool record_listen_status(CallState& c, const std::string& status) {
  if (!bridged(c) || c.dial->listen.empty()) return false;
  c.dial->listen = status;
  return true;
}

bool record_transcribe_pause(CallState& c, bool paused) {
  if (!bridged(c) || !has_transcribe(c)) return false;
  c.transcribe_paused = paused;
  return true;
}

bool record_mute(CallState& c, const std::string& sid, bool muted) {
  if (!bridged(c)) return false;
  if (sid == c.call_sid) {
    c.caller_muted = muted;
    return true;
  }
  auto& winner = c.dial->legs[c.dial->winner];
  if (winner.call_sid != sid) return false;
  winner.muted = muted;
  return true;
}

}  // namespace dp::core
