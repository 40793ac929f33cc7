// The imperative shell of a call: answers Kamailio's decisions (new INVITE, failed dial), applies its
// events, and drives webhooks. All decisions about state are made by core/dial_machine.
#pragma once
#include "app/config/config.hpp"
#include "app/observability/metrics.hpp"
#include "app/ports/call_store_port.hpp"
#include "app/ports/kamailio_control_port.hpp"
#include "app/ports/outbox_port.hpp"
#include "app/ports/provisioning_port.hpp"
#include "app/ports/speech_recognizer_port.hpp"
#include "app/ports/webhook_sender_port.hpp"
#include "app/session/call_cache.hpp"
#include "app/session/call_watch.hpp"
#include "app/session/dial_music.hpp"
#include "app/session/listen_session.hpp"
#include "app/session/screening.hpp"
#include "app/session/session_control.hpp"
#include "app/verbs/verb_task.hpp"
#include "core/amd_detector.hpp"
#include "core/dial_machine.hpp"
#include "core/dial_plan.hpp"
#include "core/dtmf.hpp"
#include "core/inbound_admission.hpp"
#include "core/kamailio_events.hpp"
#include "core/kamailio_requests.hpp"
#include "core/refer.hpp"
#include "core/transcribe.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace dp::app {

// What one event of a folded batch did to its call (CallFlow::apply_events).
struct AppliedEvent {
  bool fresh = false;  // not seen before
  core::ScreenEffects fx;
  std::optional<core::CallState> after;  // for a held leg, or the answer that connected the call
  bool answered_now = false;
};

// The call session: runs a call's verbs (verbs/), answers Kamailio's decisions and applies its events.
class CallFlow final : public VerbSession, public SessionControl, public ScreeningHost {
 public:
  struct Deps {
    boost::asio::any_io_executor ex;
    const Config& cfg;
    CallStorePort& calls;
    ProvisioningPort& prov;
    WebhookSenderPort& hooks;
    KamailioControlPort& kamailio;
    CallStats& metrics;
    OutboxPort& outbox;
    MediaPort& media;
    MediaFilesPort& files;
    SpeechRecognizerPort* stt = nullptr;  // the dial's nested transcribe; null = every transcribe gets an error event
  };
  explicit CallFlow(Deps d);

  // Decisions (see docs/internal-protocol.md §1). Never throw: errors become a reject decision.
  boost::asio::awaitable<boost::json::object> invite(const core::InviteRequest& req);
  boost::asio::awaitable<boost::json::object> dial_failed(const core::DialFailedRequest& req);
  // Events (§2). Returns how many were applied (duplicates and strays are skipped).
  boost::asio::awaitable<std::size_t> events(const core::EventBatch& batch);
  // An in-dialog REFER Kamailio holds (/kamailio/refer): the dial's referHook decides the SIP answer. Never
  // throws: an error becomes a 501 with an X-Reason.
  boost::asio::awaitable<core::SipAnswer> refer(const core::ReferRequest& req);
  // A DTMF key rtpengine reported (DtmfListener): matched on the leg that pressed it (dtmfCapture/dtmfHook).
  boost::asio::awaitable<void> dtmf(core::DtmfEvent ev);
  // A Redis timer of a call is due (TimerService). Returns a retry time when it must fire again later.
  boost::asio::awaitable<std::optional<long long>> on_timer(const std::string& id);

  // VerbSession: what the verb tasks do to the call.
  boost::asio::awaitable<std::optional<boost::json::object>> start_dial(CallStorePort::Versioned cur,
                                                                         const boost::json::object& verb) override;
  boost::asio::awaitable<boost::json::object> reject_call(const std::string& sid, int code, const std::string& reason,
                                                          const std::string& hdrs) override;

  // SessionControl: what the ring timeout and timeLimit do, shared with live call control (REST updateCall).
  boost::asio::awaitable<DialCancel> cancel_ringing_dial(const std::string& call_sid, int dial_seq,
                                                         const char* why) override;
  boost::asio::awaitable<void> hang_up(const core::CallState& c, const std::string& extra_headers) override;
  boost::asio::awaitable<bool> record(const std::string& call_sid,
                                      std::function<bool(core::CallState&)> change) override;

  // ScreeningHost: the screening's compare-and-set steps go through update().
  boost::asio::awaitable<std::optional<core::Transition>> update_call(const std::string& sid, Step step) override;
  void answered(const core::CallState& c) override;
  boost::asio::awaitable<void> amd_event(const std::string& sid, const std::string& leg_sid,
                                         const core::amd::Event& e, const core::CallState& last_known) override;
  // Long-lived work of calls (screenings): cancelled and awaited at shutdown.
  io::TaskGroup& sessions() { return sessions_; }

 private:
  // A re-sent INVITE decision (same Call-ID and CSeq, call still unanswered): finishes that attempt's work.
  boost::asio::awaitable<std::optional<boost::json::object>> resume_invite(const std::string& call_id,
                                                                            const std::string& cseq);
  // Which application answers an INVITE: the dialled number's, else the SIP domain's ({account_sid,
  // application_sid}; nullopt: neither is provisioned).
  boost::asio::awaitable<std::optional<std::pair<std::string, std::string>>> route_invite(
      const core::InviteRequest& req);
  // Whether the caller may start a call in `account_sid` (--inbound-auth; core/inbound_admission): looks up the
  // account's carriers (cached) and the authenticated SIP user's account only when the policy asks.
  boost::asio::awaitable<core::AdmissionDecision> admit(const core::InviteRequest& req, const std::string& account_sid);
  // Stores a new call (version 1); false when its sid exists already.
  boost::asio::awaitable<bool> create_call(const core::CallState& c);
  // The call_hook's answer: the app's verbs, or why the call is refused.
  struct AppFetch {
    std::optional<std::string> refusal;
    boost::json::array verbs;
  };
  // Asks the call_hook for the app (same Idempotency-Key on every attempt) and validates it.
  boost::asio::awaitable<AppFetch> fetch_app(const core::CallState& c);
  // Fetches the app (stored call `cur`) and runs it.
  boost::asio::awaitable<boost::json::object> run_app(CallStorePort::Versioned cur);
  // Runs a fetched app on the stored call `cur`: its verbs become the pending ones in memory, committed with
  // the first verb's own change (no commit in between).
  boost::asio::awaitable<boost::json::object> start_app(CallStorePort::Versioned cur, AppFetch app);
  // Timers: the dial's ring timeout cancels it in Kamailio (cancel_ringing_dial); timeLimit ends the answered
  // call (hang_up), or asks to be fired again when the dialog ids are not known yet.
  boost::asio::awaitable<std::optional<long long>> time_limit(const core::TimerRef& ref);
  // Runs the call's pending verbs until one needs Kamailio (a fork) or ends the call (a reject). `first`: the
  // call as this instance holds it (else its current state is read).
  boost::asio::awaitable<boost::json::object> run_verbs(const std::string& sid,
                                                        std::optional<CallStorePort::Versioned> first = std::nullopt);
  boost::asio::awaitable<core::TargetFacts> target_facts(const core::CallState& c, const core::Account& acct,
                                                         const boost::json::object& target);
  boost::asio::awaitable<std::vector<core::Contact>> registered_contacts(const std::string& node,
                                                                         const std::string& aor);
  // Calls the pending actionHook of the call's failed dial and, if it returns valid verbs, makes them the
  // call's pending verbs (once, whichever instance gets there first).
  boost::asio::awaitable<void> run_action_hook(const core::CallState& c);

  // Current state (this instance's last commit, else loaded) → apply fn → compare-and-set (delete when the call
  // ended) → queue webhooks. Retries on conflict with the state the store returned. Returns nullopt when the
  // call does not exist. `order_kept`: fn already applied core::keep_status_order.
  template <typename F>
  boost::asio::awaitable<std::optional<core::Transition>> update(const std::string& sid, F&& fn,
                                                                 bool order_kept = false);
  // The call as this instance last committed it, else as stored; nullopt when it does not exist.
  boost::asio::awaitable<std::optional<CallStorePort::Versioned>> current(const std::string& sid);
  // Atomically writes a transition (state or deletion, timers, outbox jobs), then hands the jobs to the outbox.
  boost::asio::awaitable<CallStorePort::CommitResult> commit(const CallStorePort::Versioned& cur,
                                                             const core::Transition& t);
  void record(const core::CallState& c, const core::Transition& t);  // metrics of a committed transition
  // Records a decision's latency and returns it.
  boost::json::object observed(std::string_view kind, std::chrono::steady_clock::time_point started,
                               boost::json::object decision);

  // The dial's `amd` on the leg that answered (not for voicemail-safe dials: their legs were checked while held).
  void start_amd(const core::CallState& c);
  boost::asio::awaitable<void> amd_on_call(std::string sid, int dial_seq, core::ng::Node node, std::string tag,
                                           core::amd::Params params);
  // The dial's nested listen (or stream), once bridged: a ListenRun in sessions_ (app/session/listen_session).
  void start_listen(const core::CallState& c);
  // The dial's nested `transcribe` on the bridged call: one run per channel (app/session/transcribe_session).
  void start_transcribe(const core::CallState& c);
  boost::asio::awaitable<void> transcribe_on_call(std::string sid, int dial_seq, core::ng::Node node, std::string tag,
                                                  int channel, core::stt::Options opts);
  boost::asio::awaitable<void> transcription_error(core::CallState c, core::stt::Options opts, int channel,
                                                   std::string error);
  // Sends one transcriptionHook (a result, or an error when `error` is set); the answer is ignored.
  boost::asio::awaitable<void> transcription_hook(const core::CallState& c, const core::stt::Options& opts,
                                                  const core::stt::Result& r, const std::string& error, int seq);
  // A batch's events of one call, in order, folded into one commit (fold_events); then what they start. Returns
  // how many were new (duplicates and strays are skipped).
  boost::asio::awaitable<std::size_t> apply_events(std::string sid, std::string source,
                                                   std::vector<core::KamailioEvent> evs);
  // What applied events start: the dial's amd/listen/transcribe on an answer, the screening of a held leg.
  boost::asio::awaitable<void> after_events(const std::string& sid, const std::vector<core::KamailioEvent>& evs,
                                            const std::vector<AppliedEvent>& out);
  // A held leg's event: screen it, or end it when it can no longer win.
  boost::asio::awaitable<void> screen_held(const std::string& sid, const core::KamailioEvent& ev,
                                           const core::ScreenEffects& fx, const core::CallState& after);

  Deps d_;
  CallCache cache_{4096};  // ~2-3 KB a state: live calls beyond it are loaded, as before the cache
  DialMusic music_;
  ListenInboxes listens_;  // DTMF keys for the live listens of this instance (outlives sessions_)
  // What the listen, transcribe and amd runs see of their call: one read per call and 100 ms, shared (outlives
  // sessions_).
  static constexpr std::chrono::milliseconds kFollowFresh{100};
  CallWatch watch_;
  io::TaskGroup sessions_;
  Screening screening_;
};

// Decision bodies.
boost::json::object reject_decision(int code, std::string_view reason, const std::string& hdrs);
boost::json::object challenge_decision();  // the caller must authenticate (407 from Kamailio)
std::string x_reason(std::string_view message);  // "X-Reason: <sanitised>\r\n"

}  // namespace dp::app
