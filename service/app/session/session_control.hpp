// What live call control (session/live_call, the REST updateCall) asks of the call session. CallFlow implements
// it with the very code its timers run, so a REST no-answer behaves like the ring timeout and a REST completed
// like timeLimit.
#pragma once
#include "core/call_model.hpp"

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

namespace dp::app {

class SessionControl {
 public:
  virtual ~SessionControl() = default;

  enum class DialCancel {
    NotRinging,    // the dial was answered or ended meanwhile: nothing was done
    Cancelled,     // marked timed out and cancelled in Kamailio (tm.cancel)
    CancelFailed,  // marked timed out, but tm.cancel failed: Kamailio's own ring timer ends it
  };
  // Dial `dial_seq` of the call is still ringing: marks it timed out and has Kamailio cancel every branch. The
  // failed dial that follows reports no-answer/487, its actionHook runs and the app goes on. `why` (a literal)
  // names the cause in the log. May throw io::RedisError.
  virtual boost::asio::awaitable<DialCancel> cancel_ringing_dial(const std::string& call_sid, int dial_seq,
                                                                 const char* why) = 0;

  // Ends the answered call `c`: a BYE to both sides (dlg.end_dlg with `extra_headers`), then closes its state as
  // dialog:end does (completed status webhooks, the actionHook). Throws io::RpcError or io::HttpError when
  // Kamailio could not end the dialog (nothing changed then), io::RedisError.
  virtual boost::asio::awaitable<void> hang_up(const core::CallState& c, const std::string& extra_headers) = 0;

  // Records a change in the call's state through the session's compare-and-set (so this instance's last
  // committed view of the call stays current): `change` returns false when there is nothing to record. True
  // when recorded; false when the call is gone or `change` declined. Throws io::RedisError, and
  // std::runtime_error when the call kept changing under it.
  virtual boost::asio::awaitable<bool> record(const std::string& call_sid,
                                              std::function<bool(core::CallState&)> change) = 0;
};

}  // namespace dp::app
