// dtmfCapture / dtmfHook on a bridged dial: a key rtpengine reported, matched on the leg that pressed it,
// and the dtmfHook it fires. Pure: the buffers live in the call's state, time comes in as arguments.
#pragma once
#include "core/dial_machine.hpp"
#include "core/dtmf.hpp"

namespace dp::core {

// Which side of the call a DTMF event came from, by rtpengine's `source_tag`: the caller's From tag or the
// answered callee's To tag. nullopt for another call's tag, or before the bridge (jambonz installs its
// collectors when the call is bridged).
enum class DtmfSide { Parent, Child };
std::optional<DtmfSide> dtmf_side(const CallState& c, const std::string& source_tag);

// Applies one key: nothing when the dial has no dtmfHook, the side watches no pattern, or the call is not
// bridged; otherwise the side's buffer moves on (saved with the state), and a match queues the dtmfHook with
// `dtmf` = the matched pattern plus the call info of the side that pressed it (a child's carries
// parent_call_sid), as jambonz sends it.
Transition on_dtmf(CallState& c, const DtmfEvent& e, long long now_ms, double now);

}  // namespace dp::core
