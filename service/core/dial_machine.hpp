// The dial state machine: applies Kamailio's branch/dialog events to a CallState and says which
// webhooks follow. Pure: time comes in as arguments, no I/O.
#pragma once
#include "core/call_model.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dp::core {

// A webhook to send. `hook` is already resolved (absolute URL, credentials).
struct Notification {
  // VerbHook: a verb's notification hook (dtmfHook…), named by `label` in metrics and logs.
  enum class Kind { CallStatus, Action, VerbHook };
  Kind kind = Kind::CallStatus;
  Hook hook;
  boost::json::object payload;
  std::string label;
};
// "call_status" | "action" | the VerbHook's label.
std::string kind_name(const Notification& n);

// A timer to add (due_ms > 0) or cancel (due_ms == 0), saved atomically with the state.
struct TimerOp {
  std::string id;
  long long due_ms = 0;
};

// A call's Redis timers. Ids are "<kind>|<call_sid>|<dial seq>" with kind ring (the dial's timeout), limit
// (timeLimit) or hold (releases status webhooks held back after an answer without ringing).
enum class TimerKind { Ring, Limit, Hold };
std::string timer_id(TimerKind kind, const std::string& call_sid, int dial_seq);
struct TimerRef {
  TimerKind kind = TimerKind::Ring;
  std::string call_sid;
  int dial_seq = 0;
};
std::optional<TimerRef> parse_timer_id(std::string_view id);

struct Transition {
  bool changed = false;     // state must be saved
  bool call_ended = false;  // the call is over: state can be deleted once webhooks are queued
  std::vector<Notification> webhooks;  // status webhooks, in order
  // Set when the dial ended: the actionHook to call (its payload is in action_payload).
  std::optional<Hook> action_hook;
  boost::json::object action_payload;
  bool action_response_matters = false;  // the caller is still waiting: run the verbs it returns
  std::vector<TimerOp> timers;
};

// `next` appended to `into`, as if both had been committed one after the other: webhooks and timer changes in
// order (a later change of the same timer wins, as the store applies them in order), the call's end and the
// dial's actionHook carried over. Lets a batch's events of one call go out in one commit.
void merge_into(Transition& into, Transition&& next);

// Resolves a jambonz hook value (URL string or {url, method, username, password}) against the
// application's call_hook: relative URLs ("/action") take the call_hook's origin, and hooks without
// credentials use the call_hook's (jambonz authenticates every hook with the application's credentials).
std::optional<Hook> resolve_hook(const boost::json::value* hook, const Hook& call_hook);
// A media URL (dialMusic, whisper play): resolved like a hook, but the application's credentials go along
// only to the call_hook's own origin; a third-party file host never sees them.
std::optional<Hook> resolve_media_url(const boost::json::value* url, const Hook& call_hook);

// Payloads (jambonz field names, snake_case).
boost::json::object parent_payload(const CallState& c, double now);
boost::json::object child_payload(const CallState& c, const Leg& leg, double now);
boost::json::object action_payload(const CallState& c, std::string_view dial_call_status, int dial_sip_status,
                                   const std::string& dial_call_sid, double now);

// A GET hook's URL with the payload in its query string (jambonz sends GET hooks without any): top-level
// scalars as themselves, nested objects and arrays as JSON; inserted before a `#fragment` (jambonz's retry
// options live there).
std::string url_with_query(const std::string& url, const boost::json::object& payload);

// Event handlers. Each ignores events for another dial (`dial_seq`), an unknown leg, or a call that
// has ended, and sends one status webhook per actual status change.
Transition on_reply(CallState& c, int dial_seq, int leg, int code, const std::string& reason, bool sdp, double ts);
Transition on_branch_timeout(CallState& c, int dial_seq, int leg, double ts);
Transition on_dialog_start(CallState& c, int dial_seq, int leg, long long h_entry, long long h_id, double ts);
Transition on_dialog_end(CallState& c, double ts);
// The caller went away before any target answered (CANCEL).
Transition on_caller_cancel(CallState& c, double ts);
// Every branch of the dial failed (Kamailio's failure_route). `leg`/`code` describe the picked reply;
// legs still not final take that outcome (or no-answer/487 on a ring timeout).
Transition on_dial_failed(CallState& c, int dial_seq, int leg, int code, const std::string& reason,
                          bool ring_timeout, double ts);

// How long the status webhooks of an answer that came without any ringing wait for a provisional reply that
// Kamailio reports late (two SIP workers can queue a back-to-back 180 and 200 in the wrong order).
constexpr long long kLateProvisionalHoldMs = 200;

// The hold timer fired: the held status webhooks go out.
Transition on_hold_timer(CallState& c);
// Puts the held status webhooks in front of the transition's webhooks.
void release_held(CallState& c, Transition& t);
// Applied to every transition before it is saved: while webhooks are held, later status webhooks are held
// behind them; a transition that ends the dial or the call releases them all first.
void keep_status_order(CallState& c, Transition& t);

// What a decision request must do to finish the work of an earlier attempt of the same request (Kamailio
// re-sends it when the instance that took it died): `after_dial` is the dial the request is about (0 for
// the INVITE).
enum class Resume {
  RunVerbs,    // call the pending actionHook if any, then run the pending verbs
  ReplayFork,  // a later dial was already started but Kamailio never got it: send the same fork again
};
Resume resume_decision(const CallState& c, int after_dial);

// The actionHook of `dial_seq` answered (or failed: `verbs` empty): its verbs become the call's pending
// verbs, once. Returns an unchanged transition when another attempt applied it first.
Transition on_action_answered(CallState& c, int dial_seq, const boost::json::array& verbs);

// The dial's ring timer fired: returns true (and marks the dial) when the dial is still ringing and
// Kamailio must cancel it. The failed dial that follows is then reported as no-answer/487.
Transition on_ring_timer(CallState& c, int dial_seq);

// At-least-once delivery from Kamailio: returns false when event `seq` of `source` ("node|boot") was already
// applied to this call, else remembers it. Keeps the last kEventSeqWindow seqs per source rather than a
// high-water mark, so one bogus huge seq cannot silence the call's later events.
constexpr std::size_t kEventSeqWindow = 32;
bool first_delivery(CallState& c, const std::string& source, long long seq);

// True when every leg of the current dial reached a final status.
bool all_legs_final(const CallState& c);

// The parent call ends without being answered (reject/decline/no more verbs).
Transition on_call_rejected(CallState& c, int code, const std::string& reason, double ts);

// Strips CR, LF and other control characters so a message can go into a SIP header value.
std::string sanitize_header_value(std::string_view s, std::size_t max_len = 200);

}  // namespace dp::core
