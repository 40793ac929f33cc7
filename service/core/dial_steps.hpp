// The dial state machine's building blocks that the screening transitions (core/screening) share with it.
// Pure, like the machine itself; only the two transition files use them.
#pragma once
#include "core/dial_machine.hpp"

namespace dp::core {

void push_status(Transition& t, const CallState& c, const Leg& leg, double now);
void push_parent_status(Transition& t, const CallState& c, double now);
// Moves a leg to `st`; false when nothing changes (same status, or already final).
bool set_leg(Leg& leg, CallStatus st, int code, const std::string& reason, double ts);
// The call's dial `dial_seq` while it is not over; nullptr otherwise.
Dial* active_dial(CallState& c, int dial_seq);
Leg* leg_at(Dial& d, int leg);
// The dial's first answer: the parent is in progress, the ring timer goes, timeLimit starts.
void take_answer(CallState& c, Dial& d, int leg_idx, bool rang, double ts, Transition& t);

}  // namespace dp::core
