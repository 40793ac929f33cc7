#include "app/session/call_flow.hpp"

#include "app/delivery/outbox.hpp"
#include "app/session/amd_session.hpp"
#include "app/session/ids.hpp"
#include "app/session/transcribe_session.hpp"
#include "app/verbs/validate_app.hpp"
#include "app/verbs/verb_task.hpp"
#include "core/carrier_select.hpp"
#include "core/dtmf_capture.hpp"
#include "core/json_get.hpp"
#include "core/kamailio_events.hpp"
#include "core/log.hpp"
#include "core/media_profile.hpp"
#include "core/screening.hpp"
#include "io/clock.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;
using core::CallState;
using core::Transition;

namespace {

// Kamailio's own ring timer fires this long after dialplane's, in case no instance could.
constexpr long long kRingBackstopMs = 1500;

using core::jget::boolean;
using core::jget::integer;
using core::jget::str;

struct CallerReply {
  int code = 480;
  std::string reason = "Temporarily Unavailable";
  std::string hdrs;
};

// The reply a caller gets when the app ends after a dial that failed: the callee's failure where it
// means something to the caller (busy, not found, declined), otherwise 480. A leg that dialplane failed
// itself (never sent: not registered, no route, no targets) gets a standard reason phrase and says why in
// an X-Reason.
CallerReply caller_reply_after_dial(const CallState& c) {
  CallerReply r;
  if (!c.dial || c.dial->legs.empty()) return r;
  const core::Leg* last = nullptr;
  for (const auto& l : c.dial->legs)
    if (core::is_final(l.status) && (!last || l.final_at >= last->final_at)) last = &l;
  if (!last) return r;
  bool local = last->branches == 0;
  if (last->sip_status >= 400 && last->sip_status < 700 && last->sip_status != 487 && last->sip_status != 408) {
    r.code = last->sip_status;
    r.reason = local ? std::string(core::default_reason(r.code)) : last->sip_reason;
  }
  if (local && !last->sip_reason.empty()) r.hdrs = x_reason(last->sip_reason);
  return r;
}

// Whether a target must pass screening before it may win: it has a confirmHook (or the dial screens for
// machines), and rtpengine can anchor the callee's media (a node, and the caller's offer in the INVITE).
bool screens(const CallState& c, const json::object& verb, const json::object& target) {
  if (!core::confirm_hook_of(verb, target) && !core::voicemail_safe(verb)) return false;
  if (c.rtp_node.empty() || c.caller_sdp.empty()) {
    log::warn("screening_unavailable", {{"call_sid", c.call_sid},
                                        {"why", c.rtp_node.empty() ? "no rtpengine" : "late offer (no SDP in the INVITE)"}});
    return false;
  }
  return true;
}

// The rtpengine node of the call (Kamailio's set of the same index): a hash of the Call-ID, so it is stable.
void anchor_media(CallState& c, const std::vector<std::string>& nodes) {
  if (nodes.empty()) return;
  auto i = core::ng::node_for_call(c.call_id, nodes.size());
  c.rtp_set = static_cast<int>(i);
  c.rtp_node = nodes[i];
}

// A batch's events of one call applied in order as one transition: each as core::apply_event does, then its
// status-order step, as if committed alone; events after the one that ended the call are not applied (one by one,
// they would find no call). `out[i]` says what event i did.
Transition fold_events(CallState& c, const std::string& source, const std::vector<core::KamailioEvent>& evs,
                       std::vector<AppliedEvent>& out) {
  out.assign(evs.size(), AppliedEvent{});
  Transition all;
  for (std::size_t i = 0; i < evs.size() && !all.call_ended; ++i) {
    auto& a = out[i];
    bool before = c.dial && c.dial->winner >= 0;
    auto tr = core::apply_event(c, source, evs[i], a.fresh, a.fx);
    a.answered_now = !before && c.dial && c.dial->winner >= 0 && c.status == core::CallStatus::InProgress;
    if (evs[i].kind == core::EventKind::Held || a.answered_now) a.after = c;
    core::keep_status_order(c, tr);
    core::merge_into(all, std::move(tr));
  }
  return all;
}

}  // namespace

std::string x_reason(std::string_view message) {
  return "X-Reason: " + core::sanitize_header_value(message) + "\r\n";
}

json::object reject_decision(int code, std::string_view reason, const std::string& hdrs) {
  return {{"action", "reject"},
          {"code", code},
          {"reason", core::sanitize_header_value(reason.empty() ? core::default_reason(code) : reason, 100)},
          {"hdrs", hdrs}};
}

// Kamailio answers 407 with its own Proxy-Authenticate (a nonce it can check): dialplane only says so.
json::object challenge_decision() { return {{"action", "challenge"}}; }

CallFlow::CallFlow(Deps d)
    : d_(std::move(d)),
      music_({d_.media, d_.files, d_.metrics}),
      watch_(d_.ex, d_.calls, kFollowFresh),
      sessions_(d_.ex),
      screening_({d_.cfg, d_.calls, d_.hooks, d_.kamailio, d_.media, d_.files, *this, sessions_, d_.metrics}) {}

asio::awaitable<std::optional<Transition>> CallFlow::update_call(const std::string& sid, Step step) {
  auto t = co_await update(sid, step);
  co_return t;
}

void CallFlow::answered(const CallState& c) {
  start_amd(c);
  start_listen(c);
  start_transcribe(c);
}

void CallFlow::start_listen(const CallState& c) {
  if (!c.dial || c.dial->winner < 0 || !c.dial->verb.is_object()) return;
  auto asked = core::listen::from_dial(c.dial->verb.get_object());
  if (!asked) return;
  auto& parsed = *asked;
  auto node = core::ng::parse_node(c.rtp_node);
  const auto& win = c.dial->legs[c.dial->winner];
  std::string why;
  if (!parsed.params) {
    why = parsed.error;
  } else if (!node) {
    why = "no rtpengine";
  } else if (c.from_tag.empty() || win.to_tag.empty()) {
    why = "the parties' SIP tags are unknown";
  }
  if (!why.empty()) {
    d_.metrics.listen_started();
    d_.metrics.listen_ended("fork_failed");
    log::warn("listen_not_started", {{"call_sid", c.call_sid}, {"why", why}});
    return;
  }
  ListenTarget t;
  t.node = *node;
  t.call_sid = c.call_sid;
  t.call_id = c.call_id;
  t.dial_seq = c.dial->seq;
  bool callee = parsed.params->channel == 2;
  t.listened_tag = callee ? win.to_tag : c.from_tag;
  t.other_tag = callee ? c.from_tag : win.to_tag;
  ListenRun::Deps deps{d_.ex, d_.cfg, d_.calls, watch_, d_.media, d_.files, d_.hooks, d_.metrics, listens_};
  auto sid = c.call_sid;
  sessions_.spawn(ListenRun::run(deps, std::move(t), std::move(*parsed.params)), [sid](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("listen_failed", {{"call_sid", sid}, {"error", ex.what()}});
    }
  });
}

void CallFlow::start_amd(const CallState& c) {
  if (!c.dial || c.dial->winner < 0 || !c.dial->verb.is_object()) return;
  auto amd = core::amd::from_dial(c.dial->verb.get_object());
  if (!amd || amd->voicemail_safe) return;
  auto node = core::ng::parse_node(c.rtp_node);
  const auto& win = c.dial->legs[c.dial->winner];
  if (!node || win.to_tag.empty()) {
    log::warn("amd_not_started", {{"call_sid", c.call_sid}, {"why", node ? "callee tag unknown" : "no rtpengine"}});
    return;
  }
  auto sid = c.call_sid;
  auto run = amd_on_call(sid, c.dial->seq, *node, win.to_tag, std::move(amd->params));
  sessions_.spawn(std::move(run), [sid](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("amd_failed", {{"call_sid", sid}, {"error", ex.what()}});
    }
  });
}

asio::awaitable<void> CallFlow::amd_on_call(std::string sid, int dial_seq, core::ng::Node node, std::string tag,
                                            core::amd::Params params) {
  auto cur = co_await d_.calls.load(sid);
  if (!cur) co_return;
  CallState last = cur->state;
  AmdRun::OnEvent on_event = [&](const core::amd::Event& e) -> asio::awaitable<void> {
    co_await amd_event(sid, {}, e, last);
  };
  AmdRun::Wanted wanted = [&]() -> asio::awaitable<bool> {
    auto now = co_await watch_.current(sid);
    if (now) last = now->state;
    co_return now && now->state.status == core::CallStatus::InProgress && now->state.dial &&
        now->state.dial->seq == dial_seq;
  };
  AmdRun::Deps deps{d_.ex, d_.media, fork_config(d_.cfg)};
  AmdTarget target{node, last.call_id, tag};
  co_await AmdRun::run(deps, target, params, on_event, wanted);
}

void CallFlow::start_transcribe(const CallState& c) {
  if (!c.dial || c.dial->winner < 0 || !c.dial->verb.is_object()) return;
  auto opts = core::stt::options_from_dial(c.dial->verb.get_object());
  if (!opts) return;
  auto node = core::ng::parse_node(c.rtp_node);
  const auto& win = c.dial->legs[c.dial->winner];
  auto sid = c.call_sid;
  for (int channel : opts->channels) {
    std::string tag = channel == core::stt::kCaller ? c.from_tag : win.to_tag;
    if (!node || tag.empty() || !d_.stt) {
      std::string why = !d_.stt ? "the speech recognizer is not configured"
                        : node  ? "the party's SIP tag is unknown"
                                : "no rtpengine anchors this call's media";
      log::warn("transcribe_not_started", {{"call_sid", sid}, {"channel", std::to_string(channel)}, {"why", why}});
      d_.metrics.transcription_refused("unavailable");
      sessions_.spawn(transcription_error(c, *opts, channel, "transcription not started: " + why),
                      [](std::exception_ptr) {});
      continue;
    }
    sessions_.spawn(transcribe_on_call(sid, c.dial->seq, *node, tag, channel, *opts), [sid](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("transcribe_failed", {{"call_sid", sid}, {"error", ex.what()}});
      }
    });
  }
}

asio::awaitable<void> CallFlow::transcribe_on_call(std::string sid, int dial_seq, core::ng::Node node, std::string tag,
                                                   int channel, core::stt::Options opts) {
  auto cur = co_await d_.calls.load(sid);
  if (!cur) co_return;
  CallState last = cur->state;
  int seq = 0;
  TranscribeRun::OnResult on_result = [&](const core::stt::Result& r) -> asio::awaitable<void> {
    std::string none;
    co_await transcription_hook(last, opts, r, none, ++seq);
  };
  TranscribeRun::OnError on_error = [&](int ch, const std::string& error) -> asio::awaitable<void> {
    core::stt::Result r;
    r.channel = ch;
    co_await transcription_hook(last, opts, r, error, ++seq);
  };
  TranscribeRun::PollFn poll = [&]() -> asio::awaitable<TranscribeRun::Poll> {
    auto now = co_await watch_.current(sid);
    if (now) last = now->state;
    TranscribeRun::Poll p;
    p.wanted = now && now->state.status == core::CallStatus::InProgress && now->state.dial &&
               now->state.dial->seq == dial_seq;
    p.paused = now && now->state.transcribe_paused;
    co_return p;
  };
  TranscribeRun::Deps deps{d_.ex, d_.media, fork_config(d_.cfg), *d_.stt, d_.metrics};
  TranscribeTarget target{node, last.call_id, tag, channel};
  TranscribeSettings settings;
  settings.vendor = opts.vendor;
  settings.language = opts.language;
  settings.interim = opts.interim;
  co_await TranscribeRun::run(deps, target, settings, on_result, on_error, poll);
}

// Owns its arguments: it is spawned, not awaited, by start_transcribe.
asio::awaitable<void> CallFlow::transcription_error(CallState c, core::stt::Options opts, int channel,
                                                    std::string error) {
  core::stt::Result r;
  r.channel = channel;
  co_await transcription_hook(c, opts, r, error, 0);
}

asio::awaitable<void> CallFlow::transcription_hook(const CallState& c, const core::stt::Options& opts,
                                                   const core::stt::Result& r, const std::string& error, int seq) {
  auto hook = core::resolve_hook(&opts.hook, c.call_hook);
  if (!hook) co_return;  // no transcriptionHook: results are only counted and logged
  auto parent = core::parent_payload(c, io::wall_now());
  json::object payload;
  if (error.empty()) {
    payload = core::stt::result_payload(std::move(parent), r, opts.language);
  } else {
    payload = core::stt::error_payload(std::move(parent), r.channel, error, opts.vendor, opts.language);
  }
  std::string key = c.call_sid + "-stt-" + std::to_string(r.channel) + "-" + std::to_string(seq);
  auto res = co_await d_.hooks.request(c.account_sid, *hook, payload, "transcription", key);
  if (!res.ok) log::warn("transcription_hook_failed", {{"call_sid", c.call_sid}, {"error", res.error}});
}

asio::awaitable<void> CallFlow::amd_event(const std::string& sid, const std::string& leg_sid,
                                          const core::amd::Event& e, const CallState& last_known) {
  auto cur = co_await d_.calls.load(sid);
  const CallState& c = cur ? cur->state : last_known;  // the call may have ended (amd_stopped)
  if (!c.dial || !c.dial->verb.is_object()) co_return;
  auto amd = core::amd::from_dial(c.dial->verb.get_object());
  if (!amd) co_return;
  auto hook = core::resolve_hook(&amd->action_hook, c.call_hook);
  d_.metrics.amd_event(e.type);
  log::info("amd_event", {{"call_sid", sid}, {"type", e.type}, {"at_ms", std::to_string(e.at_ms)}});
  bool end_call = e.type == "amd_machine_detected" && amd->disconnect;
  if (hook) {
    // jambonz: the parent's call info and the event (type + extras); a screened leg's sid goes along.
    auto payload = core::parent_payload(c, io::wall_now());
    payload["type"] = e.type;
    for (const auto& [k, v] : e.fields) payload[k] = v;
    if (!leg_sid.empty()) payload["dial_call_sid"] = leg_sid;
    std::string key = sid + "-amd-" + (leg_sid.empty() ? std::string("call") : leg_sid) + "-" + e.type;
    auto res = co_await d_.hooks.request(c.account_sid, *hook, payload, "amd", key);
    // jambonz: verbs returned replace the app. After the bridge a proxy has no app to run: the call ends.
    if (leg_sid.empty() && res.ok && res.json && res.json->is_array() && !res.json->get_array().empty())
      end_call = true;
  }
  if (!end_call || !leg_sid.empty() || c.status != core::CallStatus::InProgress) co_return;
  if (c.h_entry < 0 || c.h_id < 0) {
    log::warn("amd_hangup_unavailable", {{"call_sid", sid}, {"why", "dialog ids unknown"}});
    co_return;
  }
  log::info("amd_hangup", {{"call_sid", sid}, {"type", e.type}});
  std::string reason = "Reason: SIP;cause=200;text=\"answering machine\"\r\n";
  co_await hang_up(c, reason);
}

asio::awaitable<void> CallFlow::screen_held(const std::string& sid, const core::KamailioEvent& ev,
                                            const core::ScreenEffects& fx, const CallState& after) {
  if (!fx.bye.empty()) {
    co_await screening_.apply(after, ev.leg, fx);
    co_return;
  }
  if (core::still_screening(after, ev.dial, ev.leg)) screening_.start({sid, ev.dial, ev.leg});
}

json::object CallFlow::observed(std::string_view kind, std::chrono::steady_clock::time_point started,
                                json::object decision) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  d_.metrics.decision(kind, str(decision, "action"), secs);
  return decision;
}

void CallFlow::record(const CallState& c, const Transition& t) {
  for (const auto& n : t.webhooks) {
    if (!n.payload.contains("parent_call_sid")) continue;
    auto status = str(n.payload, "call_status");
    if (core::is_final(core::call_status_from_string(status).value_or(core::CallStatus::Trying)))
      d_.metrics.leg(c, n.payload);
  }
  if (t.action_hook) d_.metrics.dial_ended(str(t.action_payload, "dial_call_status"));
  if (t.call_ended) d_.metrics.call_ended(core::to_string(c.status));
}

asio::awaitable<CallStorePort::CommitResult> CallFlow::commit(const CallStorePort::Versioned& cur, const Transition& t) {
  const auto& c = cur.state;
  // Webhooks are queued in the same atomic write as the state: a crash after the commit cannot lose them.
  // Their ids (call, version, index) are stable, so a re-send carries the same Idempotency-Key.
  std::vector<std::string> jobs;
  auto id = [&](std::size_t i) { return c.call_sid + "-" + std::to_string(cur.version + 1) + "-" + std::to_string(i); };
  for (const auto& n : t.webhooks) jobs.push_back(Outbox::job(id(jobs.size()), c.account_sid, n));
  // When the caller is still waiting, the decision path sends the actionHook itself and reads its verbs.
  if (t.action_hook && !t.action_response_matters)
    jobs.push_back(Outbox::job(id(jobs.size()), c.account_sid,
                               {core::Notification::Kind::Action, *t.action_hook, t.action_payload, {}}));
  auto r = co_await d_.calls.commit(c, cur.version, t.call_ended, t.timers, jobs, io::epoch_ms(),
                                    OutboxPort::kLeaseMs);
  if (!r.ok) {
    cache_.erase(c.call_sid);
    co_return r;
  }
  if (t.call_ended)
    cache_.erase(c.call_sid);
  else
    cache_.put(c.call_sid, {c, cur.version + 1});
  record(c, t);
  if (!jobs.empty()) d_.outbox.queued(c.call_sid, std::move(jobs), r.lease);
  co_return r;
}

asio::awaitable<std::optional<CallStorePort::Versioned>> CallFlow::current(const std::string& sid) {
  if (auto hit = cache_.get(sid)) co_return hit;
  auto loaded = co_await d_.calls.load(sid);
  co_return loaded;
}

template <typename F>
asio::awaitable<std::optional<Transition>> CallFlow::update(const std::string& sid, F&& fn, bool order_kept) {
  auto cur = cache_.get(sid);
  bool fresh = !cur;  // read from the store just now (not this instance's last commit)
  if (!cur) cur = co_await d_.calls.load(sid);
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (!cur) co_return std::nullopt;
    const long long version = cur->version;
    Transition t = fn(cur->state);
    if (!order_kept) core::keep_status_order(cur->state, t);
    if (!t.changed) {
      // Nothing to do, judged on this instance's last commit: another instance may have moved the call on since
      // (an event it applied), so a no-op is only trusted on the stored state.
      if (fresh) co_return t;
      cur = co_await d_.calls.load(sid);
      fresh = true;
      if (cur && cur->version == version) co_return t;
      continue;
    }
    auto r = co_await commit(*cur, t);
    if (r.ok) co_return t;
    log::debug("call_state_conflict", {{"call_sid", sid}});
    cur = std::move(r.current);
    fresh = true;
  }
  throw std::runtime_error("call state stayed contended");
}

asio::awaitable<json::object> CallFlow::reject_call(const std::string& sid, int code, const std::string& reason,
                                                    const std::string& hdrs) {
  double now = io::wall_now();
  co_await update(sid, [&](CallState& c) { return core::on_call_rejected(c, code, reason, now); });
  log::info("call_rejected", {{"call_sid", sid}, {"code", std::to_string(code)}, {"reason", reason}});
  co_return reject_decision(code, reason, hdrs);
}

asio::awaitable<json::object> CallFlow::invite(const core::InviteRequest& req) {
  auto started = std::chrono::steady_clock::now();
  auto finish = [&](json::object decision) { return observed("invite", started, std::move(decision)); };
  try {
    CallState c;
    c.call_id = req.call_id;
    if (c.call_id.empty()) co_return finish(reject_decision(400, "Bad Request", x_reason("missing Call-ID")));
    if (!req.cseq.empty()) c.cseq = req.cseq;
    auto resumed = co_await resume_invite(c.call_id, c.cseq);
    if (resumed) co_return finish(std::move(*resumed));
    const auto& ruri_user = req.ruri_user;
    const auto& to_user = req.to_user;

    auto routed = co_await route_invite(req);
    if (!routed)
      co_return finish(reject_decision(404, "Not Found", x_reason("no application for " + ruri_user)));
    const auto& [account_sid, application_sid] = *routed;
    auto admitted = co_await admit(req, account_sid);
    if (admitted.what != core::Admission::Admit) {
      log::info("invite_not_admitted", {{"call_id", req.call_id}, {"src_ip", req.src_ip},
                                        {"auth_user", req.auth_user}, {"why", admitted.why}});
      if (admitted.what == core::Admission::Challenge) co_return finish(challenge_decision());
      co_return finish(reject_decision(403, "Forbidden", x_reason(admitted.why)));
    }
    auto app = co_await d_.prov.application(application_sid);
    if (!app || app->call_hook.empty())
      co_return finish(reject_decision(480, "Temporarily Unavailable", x_reason("application not found")));

    c.call_sid = new_uuid();
    c.account_sid = account_sid;
    c.application_sid = application_sid;
    c.from = req.from_user;
    c.from_host = req.from_host;
    c.to = to_user.empty() ? ruri_user : to_user;
    c.caller_name = req.from_name;
    c.originating_sip_ip = req.src_ip;
    c.node = req.node;
    c.from_tag = req.from_tag;
    c.caller_sdp = req.sdp;
    c.caller_media = req.caller_media;
    anchor_media(c, d_.cfg.rtpengine_nodes);
    c.call_hook = app->call_hook;
    c.call_status_hook = app->call_status_hook;
    c.created_at = io::wall_now();
    // The call is stored while the call_hook is asked: the two round trips overlap. The stored call is the
    // anchor a resumed attempt (and every event) finds; its app is committed with the first verb's change.
    // Named locals only around the co_await (docs/coroutines.md: GCC 12 mishandles temporaries there).
    auto save = create_call(c);
    auto fetch = fetch_app(c);
    auto both = std::move(save) && std::move(fetch);
    auto results = co_await std::move(both);
    bool created = std::get<0>(results);
    AppFetch fetched = std::move(std::get<1>(results));
    if (!created)
      co_return finish(reject_decision(500, "Server Internal Error", x_reason("duplicate call")));
    CallStorePort::Versioned stored{std::move(c), 1};
    auto decided = co_await start_app(std::move(stored), std::move(fetched));
    co_return finish(std::move(decided));
  } catch (const io::RedisError& e) {
    d_.metrics.redis_error();
    log::error("invite_redis_error", {{"error", e.what()}});
    co_return finish(reject_decision(503, "Service Unavailable", x_reason("state store unavailable")));
  } catch (const std::exception& e) {
    log::error("invite_failed", {{"error", e.what()}});
    co_return finish(reject_decision(500, "Server Internal Error", x_reason("internal error")));
  }
}

asio::awaitable<std::optional<std::pair<std::string, std::string>>> CallFlow::route_invite(
    const core::InviteRequest& req) {
  std::optional<core::PhoneNumber> pn;
  const std::vector<std::string> candidates{req.ruri_user, req.to_user};
  for (const auto& candidate : candidates) {
    if (pn || candidate.empty()) continue;
    auto n = core::normalize_number(candidate);
    if (!n.empty()) pn = co_await d_.prov.phone_number(n);
  }
  if (pn) co_return std::pair{pn->account_sid, pn->application_sid};
  std::optional<core::SipDomain> dom;
  const std::vector<std::string> hosts{req.ruri_host, req.to_host};
  for (const auto& host : hosts) {
    if (!dom && !host.empty()) dom = co_await d_.prov.sip_domain(host);
  }
  if (dom) co_return std::pair{dom->account_sid, dom->application_sid};
  co_return std::nullopt;
}

asio::awaitable<core::AdmissionDecision> CallFlow::admit(const core::InviteRequest& req,
                                                         const std::string& account_sid) {
  core::InboundCaller caller;
  if (d_.cfg.inbound_auth == core::InboundAuth::Off) co_return core::admit_inbound(d_.cfg.inbound_auth, caller);
  caller.called_account = account_sid;
  caller.over_websocket = req.caller_media == core::kMediaWebrtc;
  caller.auth_user = req.auth_user;
  if (!req.auth_user.empty()) {
    // Kamailio proved the credentials of <auth_user>@<From host> (the realm it challenged with).
    auto user = co_await d_.prov.sip_user(req.from_host, req.auth_user);
    if (user) caller.auth_user_account = user->account_sid;
  } else if (!req.src_ip.empty()) {
    auto carriers = co_await d_.prov.carriers_of(account_sid);
    caller.from_carrier_address =
        std::any_of(carriers.begin(), carriers.end(), [&](const auto& c) { return core::sends_from(c, req.src_ip); });
  }
  co_return core::admit_inbound(d_.cfg.inbound_auth, caller);
}

asio::awaitable<bool> CallFlow::create_call(const CallState& c) {
  bool created = co_await d_.calls.save(c, 0);
  // Logged as soon as it is stored (the call_hook may still be on its way).
  if (created)
    log::info("call_new", {{"call_sid", c.call_sid}, {"call_id", c.call_id}, {"from", c.from}, {"to", c.to}});
  co_return created;
}

asio::awaitable<std::optional<json::object>> CallFlow::resume_invite(const std::string& call_id,
                                                                     const std::string& cseq) {
  // An INVITE decision is re-sent only when the instance that took it died (the balancer: HAProxy or Kamailio, empty
  // response): the same Call-ID and CSeq with a call still unanswered is that attempt's work, not a new call.
  auto sid = co_await d_.calls.sid_for_call_id(call_id);
  if (!sid) co_return std::nullopt;
  auto cur = co_await d_.calls.load(*sid);
  if (!cur || cur->state.cseq != cseq || cur->state.status != core::CallStatus::Trying) co_return std::nullopt;
  const auto& c = cur->state;
  log::info("invite_resumed", {{"call_sid", c.call_sid}, {"app_loaded", c.app_loaded ? "true" : "false"}});
  if (!c.app_loaded) co_return co_await run_app(std::move(*cur));
  if (core::resume_decision(c, 0) == core::Resume::ReplayFork) co_return c.dial->fork;
  co_return co_await run_verbs(c.call_sid);
}

asio::awaitable<CallFlow::AppFetch> CallFlow::fetch_app(const CallState& c) {
  // Named locals, not temporaries in the co_await expression (docs/coroutines.md).
  auto payload = core::parent_payload(c, io::wall_now());
  std::string key = c.call_sid + "-call_hook";  // the same on a resumed attempt
  auto res = co_await d_.hooks.request(c.account_sid, c.call_hook, payload, "call_hook", key);
  AppFetch out;
  if (!res.ok) {
    out.refusal = "call_hook failed: " + res.error;
  } else if (!res.json) {
    out.refusal = "call_hook returned no application";
  } else {
    auto v = validate_verbs(*res.json);
    if (v.ok())
      out.verbs = std::move(v.verbs);
    else
      out.refusal = *v.error;
  }
  co_return out;
}

asio::awaitable<json::object> CallFlow::run_app(CallStorePort::Versioned cur) {
  auto app = co_await fetch_app(cur.state);
  auto decided = co_await start_app(std::move(cur), std::move(app));
  co_return decided;
}

asio::awaitable<json::object> CallFlow::start_app(CallStorePort::Versioned cur, AppFetch app) {
  if (app.refusal)
    co_return co_await reject_call(cur.state.call_sid, 480, "Temporarily Unavailable", x_reason(*app.refusal));
  // Not committed on its own: the first verb commits it with its change (a dial's fork). An instance that dies
  // before that leaves app_loaded false, and the resumed attempt asks the call_hook again with the same key.
  cur.state.app_loaded = true;
  cur.state.pending_verbs = std::move(app.verbs);
  auto sid = cur.state.call_sid;
  std::optional<CallStorePort::Versioned> first{std::move(cur)};  // a named local, not a temporary (coroutines.md)
  auto decided = co_await run_verbs(sid, std::move(first));
  co_return decided;
}

asio::awaitable<json::object> CallFlow::run_verbs(const std::string& sid,
                                                  std::optional<CallStorePort::Versioned> first) {
  for (;;) {
    auto cur = std::move(first);
    first.reset();
    if (!cur) cur = co_await current(sid);
    if (!cur) co_return reject_decision(487, "Request Terminated", "");
    auto& c = cur->state;
    if (c.dial && c.dial->action_pending) {
      co_await run_action_hook(c);
      continue;
    }
    if (c.pending_verbs.empty()) {
      if (c.dial) {
        auto r = caller_reply_after_dial(c);
        co_return co_await reject_call(sid, r.code, r.reason, r.hdrs);
      }
      // jambonz answers an unanswered caller 603 when the app has nothing more to do.
      co_return co_await reject_call(sid, 603, "Decline", "");
    }
    json::object verb = c.pending_verbs.front().as_object();
    c.pending_verbs.erase(c.pending_verbs.begin());
    auto task = make_task(verb);
    if (!task)
      co_return co_await reject_call(sid, 480, "Temporarily Unavailable",
                                     x_reason("verb " + str(verb, "verb") + " is not supported by dialplane"));
    auto decision = co_await task->run(*this, std::move(*cur));
    if (decision) co_return *decision;
    // No decision: go on with the next verb (e.g. a dial that could not send any leg ended at once; its
    // actionHook runs first).
  }
}

asio::awaitable<std::vector<core::Contact>> CallFlow::registered_contacts(const std::string& node,
                                                                          const std::string& aor) {
  std::vector<core::Contact> out;
  if (node.empty()) co_return out;
  try {
    // Nobody registered: no contacts (the leg fails with 404), not an error.
    out = co_await d_.kamailio.registered_contacts(node, aor, std::chrono::milliseconds(d_.cfg.rpc_timeout_ms));
    d_.metrics.rpc("ul.lookup", true);
  } catch (const io::RpcError&) {
    d_.metrics.rpc("ul.lookup", false);
    throw;
  }
  co_return out;
}

// A sip target's digest credentials into the inner hop's plan; false when the target has none.
static bool add_sip_auth(const json::object& target, json::object& plan) {
  auto* a = target.if_contains("auth");
  if (!a || !a->is_object()) return false;
  auto user = str(a->as_object(), "username");
  auto pass = str(a->as_object(), "password");
  if (user.empty() || pass.empty()) return false;
  auto proxy = str(target, "proxy");
  if (!proxy.empty() && proxy.rfind("sip:", 0) != 0 && proxy.rfind("sips:", 0) != 0) proxy = "sip:" + proxy;
  plan["uri"] = str(target, "sipUri");
  plan["dst"] = proxy;
  plan["auth_user"] = user;
  plan["auth_pass"] = pass;
  return true;
}

// What carrier selection looks at for a phone target: the trunk, the account's carriers and LCR routes, and the
// carrier owning the caller's number.
static asio::awaitable<core::SelectionInput> carrier_selection_input(ProvisioningPort& prov, const CallState& c,
                                                                     const core::Account& acct,
                                                                     const json::object& target) {
  core::SelectionInput in;
  in.number = str(target, "number");
  in.trunk = str(target, "trunk");
  if (!in.trunk.empty()) in.trunk_carrier = co_await prov.carrier_by_name(c.account_sid, in.trunk);
  auto all = co_await prov.carriers_of(c.account_sid);
  for (auto& car : all) in.carriers[car.carrier_sid] = std::move(car);
  in.lcr_routes = co_await prov.lcr_routes(c.account_sid);
  if (in.trunk.empty() && in.lcr_routes.empty()) {
    auto owner = co_await prov.phone_number(c.from);
    if (owner && !owner->carrier_sid.empty())
      if (auto it = in.carriers.find(owner->carrier_sid); it != in.carriers.end()) in.number_owner = it->second;
  }
  in.inbound_ip = c.originating_sip_ip;
  in.default_carrier_sid = acct.default_carrier_sid;
  co_return in;
}

// Carrier selection (trunk, number owner, LCR, inbound, default) and the leg plan of Kamailio's inner hop, which
// tries the carriers' gateways in order and answers digest challenges (docs/carriers.md). Credentials stay in
// Redis; the branch only carries an opaque token.
static asio::awaitable<void> plan_inner_hop(ProvisioningPort& prov, const CallState& c, const core::Account& acct,
                                     const json::object& target, core::TargetFacts& f, int ttl_s) {
  auto type = str(target, "type");
  json::object plan{{"call_sid", c.call_sid}, {"dial", c.dial ? c.dial->seq + 1 : 1}, {"type", type}};
  if (type == "sip") {
    if (!add_sip_auth(target, plan)) co_return;
  } else {
    auto in = co_await carrier_selection_input(prov, c, acct, target);
    auto sel = core::select_carriers(in);
    if (!sel.error.empty()) {
      f.error = sel.error;
      co_return;
    }
    f.carrier = sel.carriers.front();
    json::array sids;
    for (const auto& car : sel.carriers) sids.push_back(json::value(car.carrier_sid));
    plan["number"] = in.number;
    plan["carriers"] = std::move(sids);
    plan["source"] = sel.source;
    log::info("carriers_selected", {{"call_sid", c.call_sid}, {"source", sel.source},
                                    {"carriers", std::to_string(sel.carriers.size())}});
  }
  f.leg_token = new_uuid();
  co_await prov.put_leg_plan(f.leg_token, plan, ttl_s);
}

asio::awaitable<core::TargetFacts> CallFlow::target_facts(const CallState& c, const core::Account& acct,
                                                          const json::object& target) {
  core::TargetFacts f;
  auto type = str(target, "type");
  try {
    if (type == "phone" || type == "sip") {
      co_await plan_inner_hop(d_.prov, c, acct, target, f, d_.cfg.call_ttl_s);
    } else if (type == "user") {
      f.contacts = co_await registered_contacts(c.node, core::user_aor(target, acct.sip_realm));
    } else if (type == "teams") {
      // The first Microsoft proxy not reported down by Kamailio's OPTIONS pings (roles/gateways.cfg).
      f.teams_account = acct;
      auto health = co_await d_.prov.gateway_health();
      f.teams_proxy = core::first_usable_proxy(d_.cfg.teams_proxies, health, io::wall_now());
      if (!f.teams_proxy) log::warn("teams_no_proxy", {{"call_sid", c.call_sid}, {"why", "every proxy down"}});
    }
  } catch (const io::RedisError&) {
    throw;
  } catch (const std::exception& e) {
    log::warn("target_lookup_failed", {{"call_sid", c.call_sid}, {"type", type}, {"error", e.what()}});
    f.error = "lookup failed for " + type + " target";
  }
  co_return f;
}

// The leg a planned target becomes. Its branches go to `branches` while the call's tm `budget` lasts; a leg
// without any fails at once.
static core::Leg leg_of_plan(core::PlannedLeg& planned, int index, double now, int& budget, json::array& branches,
                             bool screened) {
  core::Leg leg;
  leg.index = index;
  leg.screened = screened;
  leg.call_sid = new_uuid();
  leg.type = planned.type;
  leg.to = planned.to;
  leg.from = planned.from_user;
  if (!planned.fail_code && budget < static_cast<int>(planned.branches.size())) {
    planned.branches.resize(std::max(budget, 0));
    if (planned.branches.empty()) {
      planned.fail_code = 503;
      planned.fail_reason = "too many branches for one call";
    }
  }
  if (planned.fail_code) {
    leg.status = core::status_for_sip(planned.fail_code, false);
    leg.sip_status = planned.fail_code;
    leg.sip_reason = planned.fail_reason;
    leg.final_at = now + static_cast<double>(index) * 1e-6;
  } else {
    leg.branches = static_cast<int>(planned.branches.size());
    budget -= leg.branches;
    for (auto& b : planned.branches) {
      json::object branch{{"leg", b.leg},           {"uri", b.uri},   {"dst", b.dst}, {"from_uri", b.from_uri},
                          {"from_name", b.from_name}, {"hdrs", b.hdrs}};
      if (!b.contact.empty()) branch["contact"] = b.contact;
      if (!b.media.empty()) branch["media"] = b.media;
      if (screened) branch["screen"] = 1;  // Kamailio holds its 2xx (roles/screen.cfg)
      branches.push_back(std::move(branch));
    }
  }
  return leg;
}

// Nothing to ring: the dial ends at once with the last failure. An empty target list (jambonz's schema
// allows it) is a failed dial too: 404, and the caller's reply says why in an X-Reason.
static void end_dial_at_once(CallState& c, double now, Transition& t) {
  if (c.dial->legs.empty()) {
    core::Leg none;
    none.status = core::CallStatus::Failed;
    none.sip_status = 404;
    none.sip_reason = "dial has no targets";
    none.final_at = now;
    c.dial->legs.push_back(none);
  }
  auto ended = core::on_dial_failed(c, c.dial->seq, -1, 480, "Temporarily Unavailable", false, now);
  for (auto& w : ended.webhooks) t.webhooks.push_back(std::move(w));
  t.timers.insert(t.timers.end(), ended.timers.begin(), ended.timers.end());
  t.action_hook = ended.action_hook;  // counted by record(); run_verbs sends it
  t.action_payload = ended.action_payload;
  t.action_response_matters = true;
}

asio::awaitable<std::optional<json::object>> CallFlow::start_dial(CallStorePort::Versioned cur,
                                                                   const json::object& verb) {
  auto& c = cur.state;
  double now = io::wall_now();
  auto acct = co_await d_.prov.account(c.account_sid);
  if (!acct) acct = core::Account{};

  json::array targets;
  if (auto* t = verb.if_contains("target"); t && t->is_array()) targets = core::unique_targets(t->get_array());
  core::CallerFacts caller{c.from, c.from_host, c.caller_name};

  core::Dial d;
  d.seq = c.dial ? c.dial->seq + 1 : 1;
  d.verb = verb;
  d.started_at = now;
  d.timeout_s = static_cast<int>(std::clamp<long long>(integer(verb, "timeout", 60), 1, 86400));
  d.time_limit_s = static_cast<int>(std::clamp<long long>(integer(verb, "timeLimit", 0), 0, 7 * 86400));

  json::array branches;
  // Each decision costs tm one blind branch; the rest of its 31 are shared by every dial of the call.
  int budget = core::kMaxTmBranches - c.branches_used - 1;
  Transition t;
  t.changed = true;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& target = targets[i].as_object();
    auto facts = co_await target_facts(c, *acct, target);
    auto planned = core::plan_leg(static_cast<int>(i), target, verb, caller, facts);
    d.legs.push_back(leg_of_plan(planned, static_cast<int>(i), now, budget, branches, screens(c, verb, target)));
  }
  c.dial = std::move(d);
  for (const auto& leg : c.dial->legs)
    if (!c.call_status_hook.empty())
      t.webhooks.push_back({core::Notification::Kind::CallStatus, c.call_status_hook,
                            core::child_payload(c, leg, now), {}});

  if (branches.empty()) {
    end_dial_at_once(c, now, t);
    auto saved = co_await commit(cur, t);
    if (!saved.ok) throw std::runtime_error("call changed while dialling");
    log::info("dial_failed_at_once", {{"call_sid", c.call_sid}, {"dial", std::to_string(c.dial->seq)}});
    co_return std::nullopt;
  }

  c.branches_used += 1 + static_cast<int>(branches.size());
  // dialplane enforces the ring timeout; Kamailio's own INVITE timer stays as a backstop a little later.
  t.timers.push_back({core::timer_id(core::TimerKind::Ring, c.call_sid, c.dial->seq),
                      static_cast<long long>(now * 1000) + c.dial->timeout_s * 1000LL});
  auto branch_count = branches.size();
  c.dial->fork = {{"action", "fork"},
                  {"call_sid", c.call_sid},
                  {"dial", c.dial->seq},
                  {"ring_ms", static_cast<long long>(c.dial->timeout_s) * 1000 + kRingBackstopMs},
                  {"rtp_set", c.rtp_set},
                  {"branches", std::move(branches)}};
  if (verb.contains("dialMusic")) {
    auto music = co_await music_.start(c, verb);
    if (music) {
      c.dial->music_file = music->file;
      c.dial->fork["early_sdp"] = music->early_sdp;
    }
  }
  auto saved = co_await commit(cur, t);
  if (!saved.ok) {
    // The caller hung up (or another instance changed the call) while targets were looked up.
    co_return reject_decision(487, "Request Terminated", "");
  }
  log::info("dial_started", {{"call_sid", c.call_sid}, {"dial", std::to_string(c.dial->seq)},
                             {"legs", std::to_string(c.dial->legs.size())},
                             {"branches", std::to_string(branch_count)}});
  co_return c.dial->fork;
}

asio::awaitable<void> CallFlow::run_action_hook(const CallState& c) {
  const auto& d = *c.dial;
  const json::value* hook_value = d.verb.is_object() ? d.verb.get_object().if_contains("actionHook") : nullptr;
  auto hook = core::resolve_hook(hook_value, c.call_hook);
  json::array verbs;
  if (hook) {
    // The leg status webhooks of this dial go first, as in jambonz.
    co_await d_.outbox.flush(c.call_sid, std::chrono::milliseconds(d_.cfg.webhook_timeout_ms));
    // The stored payload and this key are the same for every attempt, so a re-sent request that resumes
    // the work of a dead instance sends the very same webhook.
    std::string key = c.call_sid + "-dial-" + std::to_string(d.seq) + "-action";
    auto res = co_await d_.hooks.request(c.account_sid, *hook, d.action_payload, "action", key);
    if (res.ok && res.json && res.json->is_array() && !res.json->get_array().empty()) {
      auto v = validate_verbs(*res.json);
      if (v.ok())
        verbs = v.verbs;
      else  // jambonz logs an invalid actionHook answer and continues with the next verb.
        log::warn("action_hook_invalid_verbs", {{"call_sid", c.call_sid}, {"error", *v.error}});
    }
  }
  int seq = d.seq;
  co_await update(c.call_sid, [&](CallState& s) { return core::on_action_answered(s, seq, verbs); });
}

asio::awaitable<json::object> CallFlow::dial_failed(const core::DialFailedRequest& req) {
  auto started = std::chrono::steady_clock::now();
  auto finish = [&](json::object decision) { return observed("dial_failed", started, std::move(decision)); };
  const int code = req.code;
  const auto& reason = req.reason;
  try {
    const auto& sid = req.call_sid;
    const int seq = req.dial;
    const int leg = req.leg;
    const bool timeout = req.timeout;
    // Kamailio queues the legs' final replies just before this request: give them a moment to land so
    // the actionHook reports the real last failure. A ring timeout settles every leg by itself.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(timeout ? 0 : d_.cfg.event_barrier_ms);
    for (;;) {
      auto cur = co_await d_.calls.load(sid);
      if (!cur || !cur->state.dial || cur->state.dial->seq != seq || core::all_legs_final(cur->state)) break;
      if (std::chrono::steady_clock::now() >= deadline) break;
      asio::steady_timer timer(d_.ex, std::chrono::milliseconds(15));
      co_await timer.async_wait(asio::use_awaitable);
    }
    double now = io::wall_now();
    std::optional<json::object> replay;
    auto t = co_await update(sid, [&](CallState& c) {
      replay.reset();  // the update may run again after a conflict
      auto tr = core::on_dial_failed(c, seq, leg, code, reason, timeout, now);
      // Nothing changed: an earlier attempt of this request (Kamailio re-sent it when the instance that
      // took it died) already ended the dial. Finish its work instead of starting over.
      if (!tr.changed && core::resume_decision(c, seq) == core::Resume::ReplayFork) replay = c.dial->fork;
      return tr;
    });
    if (!t) co_return finish(reject_decision(code >= 300 ? code : 480, reason, ""));
    if (replay) {
      log::info("dial_fork_replayed", {{"call_sid", sid}, {"dial", std::to_string(seq + 1)}});
      co_return finish(std::move(*replay));
    }
    if (t->changed)
      log::info("dial_ended", {{"call_sid", sid}, {"dial", std::to_string(seq)},
                               {"status", str(t->action_payload, "dial_call_status")}});
    else
      log::info("dial_failed_resumed", {{"call_sid", sid}, {"dial", std::to_string(seq)}});
    auto decided = co_await run_verbs(sid);
    co_return finish(std::move(decided));
  } catch (const io::RedisError& e) {
    d_.metrics.redis_error();
    log::error("dial_failed_redis_error", {{"error", e.what()}});
    co_return finish(reject_decision(code >= 300 ? code : 503, reason, x_reason("state store unavailable")));
  } catch (const std::exception& e) {
    log::error("dial_failed_error", {{"error", e.what()}});
    co_return finish(reject_decision(500, "Server Internal Error", x_reason("internal error")));
  }
}

asio::awaitable<std::size_t> CallFlow::events(const core::EventBatch& batch) {
  // The batch's events grouped by call, in their order within each call: one commit per call, and the calls
  // applied side by side (a batch used to take one commit per event, one after another).
  // Copies, not pointers into the batch: a group may outlive this coroutine when shutdown cancels it.
  std::vector<std::pair<std::string, std::vector<core::KamailioEvent>>> groups;
  std::unordered_map<std::string, std::size_t> group_of;
  for (const auto& ev : batch.events) {
    auto sid = ev.call_sid;
    if (sid.empty()) {
      try {
        auto found = co_await d_.calls.sid_for_call_id(ev.call_id);
        if (found) sid = *found;
      } catch (const io::RedisError& e) {
        d_.metrics.redis_error();
        log::error("event_redis_error", {{"call_id", ev.call_id}, {"ev", std::string(core::to_string(ev.kind))},
                                         {"error", e.what()}});
        throw;  // Kamailio re-sends the batch
      }
      if (sid.empty()) {
        d_.metrics.event(core::to_string(ev.kind), false);
        continue;
      }
    }
    auto [it, added] = group_of.emplace(sid, groups.size());
    if (added) groups.push_back({sid, {}});
    groups[it->second].second.push_back(ev);
  }
  if (groups.size() == 1) {
    auto n = co_await apply_events(groups[0].first, batch.source, std::move(groups[0].second));
    co_return n;
  }
  // Side by side, in the sessions' task group (cancelled at shutdown); the batch is answered when all ended.
  struct Join {
    std::size_t left;
    std::size_t applied = 0;
    std::exception_ptr failure;
    asio::steady_timer done;
  };
  auto join = std::make_shared<Join>(Join{groups.size(), 0, nullptr, asio::steady_timer(d_.ex)});
  join->done.expires_at(asio::steady_timer::time_point::max());
  for (auto& [sid, evs] : groups) {
    auto run = [](CallFlow* self, std::shared_ptr<Join> j, std::string sid, std::string source,
                  std::vector<core::KamailioEvent> evs) -> asio::awaitable<void> {
      auto n = co_await self->apply_events(std::move(sid), std::move(source), std::move(evs));
      j->applied += n;
    };
    sessions_.spawn(run(this, join, sid, batch.source, std::move(evs)), [join](std::exception_ptr e) {
      if (e && !join->failure) join->failure = e;
      if (--join->left == 0) join->done.cancel();
    });
  }
  while (join->left > 0) {
    boost::system::error_code ec;
    co_await join->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (join->failure) std::rethrow_exception(join->failure);
  co_return join->applied;
}

asio::awaitable<std::size_t> CallFlow::apply_events(std::string sid, std::string source,
                                                     std::vector<core::KamailioEvent> evs) {
  std::vector<AppliedEvent> out;
  std::optional<Transition> t;
  try {
    t = co_await update(sid, [&](CallState& c) { return fold_events(c, source, evs, out); }, true);
  } catch (const io::RedisError& e) {
    d_.metrics.redis_error();
    log::error("event_redis_error", {{"call_sid", sid}, {"events", std::to_string(evs.size())}, {"error", e.what()}});
    throw;  // Kamailio re-sends the batch
  } catch (const std::exception& e) {
    log::error("event_failed", {{"call_sid", sid}, {"events", std::to_string(evs.size())}, {"error", e.what()}});
    co_return 0;
  }
  std::size_t applied = 0;
  for (std::size_t i = 0; i < evs.size(); ++i) {
    bool fresh = t && i < out.size() && out[i].fresh;
    d_.metrics.event(core::to_string(evs[i].kind), fresh);
    if (fresh) ++applied;
  }
  if (t) co_await after_events(sid, evs, out);
  co_return applied;
}

asio::awaitable<void> CallFlow::after_events(const std::string& sid, const std::vector<core::KamailioEvent>& evs,
                                             const std::vector<AppliedEvent>& out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& a = out[i];
    if (!a.after) continue;
    try {
      if (a.answered_now) answered(*a.after);  // the dial's amd, listen and transcribe on the leg that answered
      if (a.fresh && evs[i].kind == core::EventKind::Held) co_await screen_held(sid, evs[i], a.fx, *a.after);
    } catch (const std::exception& e) {
      log::error("event_failed", {{"call_sid", sid}, {"ev", std::string(core::to_string(evs[i].kind))},
                                  {"error", e.what()}});
    }
  }
}

asio::awaitable<void> CallFlow::dtmf(core::DtmfEvent ev) {
  listens_.dtmf(ev);  // a live listen here: passDtmf / finishOnKey
  try {
    auto sid = co_await d_.calls.sid_for_call_id(ev.call_id);
    if (!sid) {
      d_.metrics.dtmf_key("unknown_call");
      co_return;
    }
    bool matched = false, collected = false;
    auto now_ms = io::epoch_ms();
    double now = io::wall_now();
    co_await update(*sid, [&](CallState& c) {
      auto t = core::on_dtmf(c, ev, now_ms, now);
      if (!t.changed) t = core::on_screen_dtmf(c, ev.source_tag, ev.key);  // a held callee's confirm app
      collected = t.changed;
      matched = !t.webhooks.empty();
      return t;
    });
    d_.metrics.dtmf_key(matched ? "matched" : collected ? "collected" : "ignored");
    if (matched) log::info("dtmf_matched", {{"call_sid", *sid}, {"key", std::string(1, ev.key)}});
  } catch (const io::RedisError& e) {
    d_.metrics.redis_error();
    log::warn("dtmf_redis_error", {{"call_id", ev.call_id}, {"error", e.what()}});
  }
}

asio::awaitable<std::optional<long long>> CallFlow::on_timer(const std::string& id) {
  auto ref = core::parse_timer_id(id);
  if (!ref) co_return std::nullopt;
  switch (ref->kind) {
    case core::TimerKind::Ring:
      co_await cancel_ringing_dial(ref->call_sid, ref->dial_seq, "ring_timeout");
      co_return std::nullopt;
    case core::TimerKind::Hold:
      co_await update(ref->call_sid, [&](CallState& c) { return core::on_hold_timer(c); });
      co_return std::nullopt;
    case core::TimerKind::Limit:
      co_return co_await time_limit(*ref);
  }
  co_return std::nullopt;
}

asio::awaitable<SessionControl::DialCancel> CallFlow::cancel_ringing_dial(const std::string& call_sid, int dial_seq,
                                                                           const char* why) {
  std::string node, call_id, cseq;
  bool ringing = false;
  auto t = co_await update(call_sid, [&](CallState& c) {
    auto tr = core::on_ring_timer(c, dial_seq);
    ringing = c.dial && c.dial->seq == dial_seq && !c.dial->ended && c.dial->winner < 0;
    node = c.node;
    call_id = c.call_id;
    cseq = c.cseq;
    return tr;
  });
  if (!t || !ringing) co_return DialCancel::NotRinging;
  log::info(why, {{"call_sid", call_sid}, {"dial", std::to_string(dial_seq)}});
  // Kamailio cancels every branch; its failure_route then asks /kamailio/dial-failed, which reports
  // no-answer/487 because the dial is marked as timed out.
  try {
    co_await d_.kamailio.cancel_invite(node, call_id, cseq, std::chrono::milliseconds(d_.cfg.rpc_timeout_ms));
    d_.metrics.rpc("tm.cancel", true);
  } catch (const std::exception& e) {
    // The transaction may have ended meanwhile; Kamailio's own timer is the backstop anyway.
    d_.metrics.rpc("tm.cancel", false);
    log::warn("ring_cancel_failed", {{"call_sid", call_sid}, {"error", e.what()}});
    co_return DialCancel::CancelFailed;
  }
  co_return DialCancel::Cancelled;
}

asio::awaitable<std::optional<long long>> CallFlow::time_limit(const core::TimerRef& ref) {
  auto cur = co_await d_.calls.load(ref.call_sid);
  if (!cur || !cur->state.dial || cur->state.dial->seq != ref.dial_seq ||
      cur->state.status != core::CallStatus::InProgress)
    co_return std::nullopt;
  const auto& c = cur->state;
  const auto& win = c.dial->legs[c.dial->winner];
  if (win.screening == core::Screening::Accepted) {
    // Kamailio's dialog module does not track an answer released from screening (README semantics).
    log::warn("time_limit_not_enforced", {{"call_sid", c.call_sid}, {"why", "screened call"}});
    co_return std::nullopt;
  }
  if (c.h_entry < 0 || c.h_id < 0) co_return io::epoch_ms() + 100;  // dialog ids not reported yet
  log::info("time_limit_reached", {{"call_sid", c.call_sid}, {"limit_s", std::to_string(c.dial->time_limit_s)}});
  std::string reason = "Reason: SIP;cause=200;text=\"timeLimit reached\"\r\n";
  co_await hang_up(c, reason);  // an RpcError is retried when the lease runs out
  co_return std::nullopt;
}

asio::awaitable<bool> CallFlow::record(const std::string& call_sid, std::function<bool(CallState&)> change) {
  bool recorded = false;
  auto t = co_await update(call_sid, [&](CallState& c) {
    recorded = change(c);
    Transition tr;
    tr.changed = recorded;
    return tr;
  });
  co_return t && recorded;
}

asio::awaitable<void> CallFlow::hang_up(const CallState& c, const std::string& extra_headers) {
  // Both sides get a BYE; dialog:end then completes the call and sends the actionHook.
  try {
    // false: the dialog already ended (404).
    bool ended = co_await d_.kamailio.end_dialog(c.node, c.h_entry, c.h_id, extra_headers,
                                                 std::chrono::milliseconds(d_.cfg.rpc_timeout_ms));
    d_.metrics.rpc("dlg.end_dlg", ended);
  } catch (const std::exception&) {
    d_.metrics.rpc("dlg.end_dlg", false);
    throw;
  }
  // Close the call here rather than wait for dialog:end: Kamailio 5.6.3 does not always run that event
  // route for dialogs ended over JSON-RPC. A dialog_end that still arrives finds the call gone.
  double now = io::wall_now();
  co_await update(c.call_sid, [&](CallState& s) { return core::on_dialog_end(s, now); });
}

}  // namespace dp::app
