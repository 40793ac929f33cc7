// Screening a callee before it may win a simring (confirmHook; voicemail-safe amd): which legs are screened, the
// transitions of a held answer, and what a confirm app may contain. Pure: the shell (app/session/screening)
// runs the app and talks to Kamailio and rtpengine.
//
// Kamailio holds a screened leg's 2xx (the caller is not answered, the other legs keep ringing) and reports it
// ("held"); the leg is then in progress for its own webhooks. The first screened leg to be accepted wins and the
// caller gets its 2xx; a declined leg is ended with a BYE and the others go on.
#pragma once
#include "core/call_model.hpp"
#include "core/dial_machine.hpp"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dp::core {

// The hook that screens a target: its own confirmHook, else the dial's (jambonz's order). nullptr: none.
const boost::json::value* confirm_hook_of(const boost::json::object& dial_verb, const boost::json::object& target);
// amd with `voicemailSafe: true` (a dialplane extension): every leg is screened by answering-machine detection.
bool voicemail_safe(const boost::json::object& dial_verb);

// What the shell must do after a screening transition.
struct ScreenEffects {
  bool release = false;  // answer the caller with this leg's held 2xx
  std::vector<int> bye;  // held legs to end with a BYE (their branch gets a 487 so tm stops waiting)
};

// The held 2xx of leg `leg` arrived. When the dial can no longer be won (another leg won, the dial or the call
// ended), the leg is declined at once: `effects.bye` names it.
Transition on_held(CallState& c, int dial_seq, int leg, const std::string& to_tag, const HeldAnswer& held, double ts,
                   ScreenEffects& effects);
// True while leg `leg` is held and can still win: the dial is on, nobody won, the ring timer has not fired.
bool still_screening(const CallState& c, int dial_seq, int leg);
// The screening accepted the leg: it wins when it still can (the caller is answered with it and every other held
// leg is ended), else it is declined.
Transition on_screen_accepted(CallState& c, int dial_seq, int leg, double ts, ScreenEffects& effects);
// The screening declined the leg (app hung up, failed hook, a machine answered, caller gone…): it ends.
Transition on_screen_declined(CallState& c, int dial_seq, int leg, double ts, ScreenEffects& effects);
// A key the held callee pressed (rtpengine's DTMF event with its tag): kept for the confirm app's gather.
Transition on_screen_dtmf(CallState& c, const std::string& source_tag, char key);
// The confirm app's gather starts: forget keys pressed before it.
Transition on_screen_digits_taken(CallState& c, int dial_seq, int leg, std::size_t count);

// Verbs a confirm app may run on this proxy: play, say, gather, pause, hangup; tag and config are accepted and do
// nothing. jambonz also lets dtmf, listen and dial run there; a B2BUA-free proxy cannot, so they decline the leg.
// Returns the first verb that may not run, by name.
std::optional<std::string> forbidden_confirm_verb(const boost::json::array& verbs);

}  // namespace dp::core
