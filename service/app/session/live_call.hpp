// Live call control: jambonz's updateCall on a call's parent sid or a leg's sid (hang up, cancel the ringing
// dial, mute, DTMF, whisper) and the account's live calls, over the ports. The decisions are core/call_update;
// hanging up and cancelling go through the call session (SessionControl) so they behave exactly like timeLimit
// and the ring timeout. See docs/openapi.yaml (Calls) and README "Live call control".
#pragma once
#include "app/config/config.hpp"
#include "app/observability/metrics.hpp"
#include "app/ports/call_store_port.hpp"
#include "app/ports/media_files_port.hpp"
#include "app/ports/media_port.hpp"
#include "app/session/session_control.hpp"
#include "core/call_update.hpp"
#include "io/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>

namespace dp::app {

class LiveCallControl {
 public:
  struct Deps {
    const Config& cfg;
    CallStorePort& calls;
    MediaPort& media;       // rtpengine (NG), to the call's own node
    MediaFilesPort& files;  // whisper: play URLs and say texts as files rtpengine can read
    CallStats& metrics;
    SessionControl& session;  // hang up / cancel a ringing dial (CallFlow)
    io::TaskGroup& tasks;     // whispers play in the background, after the 202
  };
  explicit LiveCallControl(Deps d);

  // An update's answer: 202 (accepted), or the refusal's status with its message ({"msg": …}).
  struct Outcome {
    int status = 202;
    std::string msg;
  };
  // Applies `u` to the call `sid` names (a parent call or a leg of its current dial) of account `account_sid`.
  // 404 when there is no such live call in that account. Media failures rtpengine reports at once are 422
  // (refused) or 503 (no answer); a whisper's are only logged and counted, since it plays after the 202.
  // May throw io::RedisError.
  boost::asio::awaitable<Outcome> update(const std::string& account_sid, const std::string& sid,
                                         const core::CallUpdate& u);

  // The call info of `sid` (parent or leg), nullopt when it is no live call of the account.
  boost::asio::awaitable<std::optional<boost::json::object>> info(const std::string& account_sid,
                                                                  const std::string& sid);
  // The account's live calls (oldest first, each followed by the legs of its current dial), at most
  // kListLimit calls.
  boost::asio::awaitable<boost::json::array> list(const std::string& account_sid);
  static constexpr std::size_t kListLimit = 500;

 private:
  // The call `sid` names (its own sid or one of its legs'), if it belongs to the account.
  boost::asio::awaitable<std::optional<CallStorePort::Versioned>> find(const std::string& account_sid,
                                                                       const std::string& sid);
  boost::asio::awaitable<Outcome> hang_up(const core::CallState& c);
  boost::asio::awaitable<Outcome> cancel_dial(const core::CallState& c, int dial_seq);
  boost::asio::awaitable<Outcome> mute(const std::string& call_sid, const std::string& sid, const core::MediaTarget& m,
                                       bool mute);
  boost::asio::awaitable<Outcome> dtmf(const core::MediaTarget& m, const core::DtmfRequest& r);
  // listen_status / transcribe_status: `record` marks the call's state (compare-and-set, retried), where the
  // listen or transcription session (on the instance that bridged the call) reads it within 250 ms, so any
  // instance may take the request. `record` false: 422 with `why`.
  boost::asio::awaitable<Outcome> record_in_call(const std::string& call_sid, const std::string& sid,
                                                 std::function<bool(core::CallState&)> record, std::string why);
  // Fetches or renders the whisper's file, checks the leg is still bridged, and plays it to that leg.
  boost::asio::awaitable<void> play_whisper(std::string account_sid, std::string sid, core::WhisperRequest w);
  Outcome counted(std::string_view op, const std::string& sid, Outcome o);

  Deps d_;
};

}  // namespace dp::app
