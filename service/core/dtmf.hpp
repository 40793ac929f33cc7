// DTMF on a dialled call (dtmfCapture / dtmfHook): rtpengine's DTMF log datagrams parsed where they enter, the
// patterns each leg watches, and jambonz's collector rules as a pure function over a storable buffer.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core {

// One RFC 2833 event as rtpengine's --dtmf-log-dest reports it (one JSON datagram per key).
struct DtmfEvent {
  std::string call_id;
  std::string source_tag;  // the SIP tag of the leg that pressed the key
  char key = 0;            // '0'-'9', '*', '#', 'A'-'D'
  int duration_ms = 0;
  double timestamp = 0;    // rtpengine's clock, seconds (0 when absent or out of range)
};

// Parses one datagram: {"callid","source_tag","type":"DTMF","event":0..15,"duration",…}. Anything else (a
// flash event, another type, a missing field, malformed JSON) gives nullopt and says why in `err`.
std::optional<DtmfEvent> parse_rtpengine_dtmf(std::string_view datagram, std::string& err);

// RFC 4733 event code -> key: 0-9 digits, 10 '*', 11 '#', 12-15 'A'-'D'; 0 for anything else.
char dtmf_key(long long event);

// The patterns each side of a dial watches, from the verb's `dtmfCapture`:
//  - an array watches both legs with the same patterns;
//  - `{childCall:[…], parentCall:[…]}` watches each leg with its own patterns. (jambonz's code puts the
//    parentCall patterns on the child leg, so the caller's keys are never matched; we watch the caller.)
// Invalid entries (not strings of 0-9 * # A-D) are dropped: the verb was validated before it got here.
struct DtmfWatch {
  std::vector<std::string> parent;  // the caller (A leg)
  std::vector<std::string> child;   // the answered callee (B leg)
  bool empty() const { return parent.empty() && child.empty(); }
};
DtmfWatch dtmf_watch(const boost::json::value* dtmf_capture);

// A leg's collected keys. Storable: it lives in the call's state so any instance can take the next key.
struct DtmfBuffer {
  std::string keys;
  long long last_ms = 0;  // when the last key arrived (0 = none yet)
};

inline constexpr long long kDtmfInterDigitMs = 3000;  // jambonz: the buffer restarts after 3 s of silence

// One key pressed at `at_ms` on a leg watching `patterns`. jambonz's collector: the buffer restarts when
// ≥ 3 s passed since the previous key; a match is the first pattern (in the order given) that the buffer
// ends with; the buffer is not cleared by a match. The buffer keeps only as many keys as the longest
// pattern needs (an "ends with" test never looks further back).
struct DtmfPress {
  DtmfBuffer buffer;
  std::optional<std::string> matched;
};
DtmfPress press_dtmf(const DtmfBuffer& buffer, char key, long long at_ms, const std::vector<std::string>& patterns);

}  // namespace dp::core
