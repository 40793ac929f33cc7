// Screening a held callee before it may win (confirmHook; docs/media.md "Screening"): the shell around
// core/screening. It answers the held leg in rtpengine with media blocked both ways, runs the confirm app on
// that leg only (play, say, gather with the callee's RFC 2833 keys, pause, hangup), and then either answers
// the caller with the leg (dp.answer) or ends it (dp.bye). Every step re-reads the call: when another leg
// wins, the dial ends or the caller leaves, the screening stops and the leg gets its BYE.
//
// A screening runs on the instance that received the "held" event, owned by its task group. If that instance
// dies, the held leg is not taken over (its callee hangs up, or the ring timer ends the dial).
#pragma once
#include "app/config/config.hpp"
#include "app/observability/metrics.hpp"
#include "app/media/audio_fork.hpp"
#include "app/ports/call_store_port.hpp"
#include "app/ports/kamailio_control_port.hpp"
#include "app/ports/media_files_port.hpp"
#include "app/ports/media_port.hpp"
#include "app/ports/webhook_sender_port.hpp"
#include "core/amd_detector.hpp"
#include "core/screening.hpp"
#include "io/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>

namespace dp::app {

// What screening needs from the call session it runs in: its compare-and-set update (which also queues the
// transition's webhooks and records its metrics).
class ScreeningHost {
 public:
  virtual ~ScreeningHost() = default;
  using Step = std::function<core::Transition(core::CallState&)>;
  // nullopt: the call is gone.
  virtual boost::asio::awaitable<std::optional<core::Transition>> update_call(const std::string& sid, Step step) = 0;
  // A screened leg won and the caller was answered with it (the dial's `amd` may start on it).
  virtual void answered(const core::CallState& c) = 0;
  // An `amd` event of a leg: delivered to amd.actionHook with the parent's call info (and the leg's sid).
  // `last_known`: the call as last seen, for the events after it ended (amd_stopped).
  virtual boost::asio::awaitable<void> amd_event(const std::string& sid, const std::string& leg_sid,
                                                 const core::amd::Event& e, const core::CallState& last_known) = 0;
};

// The audio fork's settings from the service's (--media-fork-address/-advertise).
AudioForkConfig fork_config(const Config& cfg);

// One held leg.
struct HeldLeg {
  std::string sid;  // the parent call
  int dial = 0;
  int leg = 0;
};

class Screening {
 public:
  struct Deps {
    const Config& cfg;
    CallStorePort& calls;
    WebhookSenderPort& hooks;
    KamailioControlPort& kamailio;
    MediaPort& media;
    MediaFilesPort& files;
    ScreeningHost& host;
    io::TaskGroup& tasks;
    CallStats& metrics;
  };
  explicit Screening(Deps d) : d_(d) {}

  // A leg's 2xx is held: screens it in the background (the task group owns it).
  void start(HeldLeg leg);
  // Carries out what a committed screening transition asks (answer the caller with a leg, BYE others).
  boost::asio::awaitable<void> apply(const core::CallState& c, int leg, const core::ScreenEffects& fx);

 private:
  enum class Verdict { Accept, Decline };
  // How the held callee is kept from the caller: silenced (its keys are still read: a confirm app), or left open
  // (the answering-machine check: rtpengine would silence its fork too).
  enum class Isolation { Silence, Open };
  struct Gathered {
    std::string digits;
    std::string reason;  // jambonz: dtmfDetected | timeout
  };

  boost::asio::awaitable<void> run(HeldLeg leg);
  boost::asio::awaitable<Verdict> screen(const HeldLeg& leg, const core::CallState& c);
  // Voicemail-safe simring (amd.voicemailSafe): a machine that answered is declined; a human, silence or no
  // decision in time lets the leg go on.
  boost::asio::awaitable<Verdict> machine_check(const HeldLeg& leg, const core::CallState& c, const core::Leg& l);
  // rtpengine answers the held leg with the caller's media blocked and the callee's kept from the caller: the
  // callee hears only prompts, the caller nothing of the callee (its ringing or dialMusic go on).
  boost::asio::awaitable<bool> isolate(const core::CallState& c, const core::Leg& l, Isolation how);
  boost::asio::awaitable<bool> quiet_callee(const core::CallState& c, const core::Leg& l, Isolation how, bool on);
  boost::asio::awaitable<Verdict> run_app(const HeldLeg& leg, boost::json::array verbs);
  // The app's verbs after a hook answered (the confirm hook, a gather's actionHook): nullopt declines the leg.
  std::optional<boost::json::array> checked_app(const HeldLeg& leg, const HookResult& res);
  // Plays a prompt (play or say verb) to the callee; returns its length, 0 when nothing plays.
  boost::asio::awaitable<long long> prompt(const core::CallState& c, const core::Leg& l, const boost::json::object& verb);
  boost::asio::awaitable<std::optional<Gathered>> gather(const HeldLeg& leg, const boost::json::object& verb);
  // jambonz's gather ends on the finish key, on numDigits keys, or at its timeout (with what it has).
  static std::optional<Gathered> gathered(const std::string& digits, long long num, const std::string& finish_key,
                                          bool timed_out);
  boost::asio::awaitable<void> stop_prompt(const core::CallState& c, const core::Leg& l);
  boost::asio::awaitable<std::optional<boost::json::array>> gather_action(const HeldLeg& leg,
                                                                          const boost::json::object& verb,
                                                                          const Gathered& g);
  // Waits `ms`, checking the call every 100 ms: false when the leg can no longer win.
  boost::asio::awaitable<bool> wait_screening(const HeldLeg& leg, long long ms);
  // The call, while the leg can still win.
  boost::asio::awaitable<std::optional<core::CallState>> still_screening(const HeldLeg& leg);
  // false: the call is gone.
  boost::asio::awaitable<bool> finish(const HeldLeg& leg, Verdict v);
  boost::asio::awaitable<void> release(const core::CallState& c, const core::Leg& winner);

  Deps d_;
};

}  // namespace dp::app
