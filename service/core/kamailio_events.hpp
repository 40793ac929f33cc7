// Kamailio's event batches (docs/internal-protocol.md §2), parsed once where they enter, and applied to a call.
#pragma once
#include "core/dial_machine.hpp"
#include "core/screening.hpp"

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core {

enum class EventKind { Reply, BranchTimeout, DialogStart, DialogEnd, CallerGone, Held, Unknown };
std::string_view to_string(EventKind k);

struct KamailioEvent {
  EventKind kind = EventKind::Unknown;
  long long seq = -1;  // per Kamailio node and boot; -1: not given (no de-duplication)
  double ts = 0;       // when Kamailio handled it (sec.usec)
  std::string call_sid;
  std::string call_id;  // finds the call when call_sid is empty (a CANCEL before the decision)
  int dial = 0;
  int leg = -1;
  int code = 0;  // reply: SIP status
  std::string reason;
  bool sdp = false;
  std::string to_tag;      // reply: the callee's tag
  long long h_entry = -1;  // dialog_start: Kamailio's dialog ids
  long long h_id = -1;
  HeldAnswer held;  // held: a screened leg's 2xx (kamailio-cfg/roles/screen.cfg)
};

struct EventBatch {
  std::string source;  // "<node>|<boot>": the de-duplication scope of seq
  std::vector<KamailioEvent> events;
};

// Parses a batch; elements that are not objects are skipped, unknown `ev` names become EventKind::Unknown.
// `now` stands in for a missing or unreadable ts. nullopt when there is no `events` array.
std::optional<EventBatch> parse_event_batch(const boost::json::object& body, double now);

// Applies one event to its call: de-duplication by (source, seq), then the state machine. `fresh` tells
// whether the event was new (a repeat changes nothing). A held answer's follow-ups go to `screen`.
Transition apply_event(CallState& c, const std::string& source, const KamailioEvent& e, bool& fresh,
                       ScreenEffects& screen);

}  // namespace dp::core
