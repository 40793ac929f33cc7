#include "app/session/screening.hpp"

#include "app/session/amd_session.hpp"
#include "app/verbs/validate_app.hpp"
#include "core/dial_plan.hpp"
#include "core/json_get.hpp"
#include "core/log.hpp"
#include "core/media_profile.hpp"
#include "io/clock.hpp"

#include <boost/asio.hpp>
#include <algorithm>
#include <array>

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
using core::CallState;
using core::jget::integer;
using core::jget::str;

// Coroutines follow docs/coroutines.md (named locals before every co_await).

namespace {

constexpr long long kPollMs = 100;        // how often a waiting screening re-reads the call
constexpr long long kGatherPollMs = 50;   // a gather watches for keys a little faster
constexpr long long kMaxPromptMs = 120000;

// A held callee's answer, made by rtpengine for the caller: as Kamailio's answers (kamailio-cfg/kamailio.cfg),
// in the caller's profile.
core::ng::SdpOptions held_sdp_options(const CallState& c) { return core::sdp_options_toward(c.caller_media, "", true); }

const core::Leg* leg_of(const CallState& c, int leg) {
  if (!c.dial || leg < 0 || leg >= static_cast<int>(c.dial->legs.size())) return nullptr;
  return &c.dial->legs[leg];
}

// The confirmHook of leg `leg`: the legs are the dial's de-duplicated targets, in order.
const json::value* confirm_hook(const CallState& c, int leg) {
  if (!c.dial || !c.dial->verb.is_object()) return nullptr;
  const auto& verb = c.dial->verb.get_object();
  auto* t = verb.if_contains("target");
  if (!t || !t->is_array()) return nullptr;
  auto targets = core::unique_targets(t->get_array());
  if (leg < 0 || leg >= static_cast<int>(targets.size()) || !targets[leg].is_object()) return nullptr;
  // The pointer must outlive `targets`: look the hook up in the stored verb instead.
  const auto& target = targets[leg].get_object();
  if (auto* own = target.if_contains("confirmHook"); own && (own->is_object() || own->is_string())) {
    for (const auto& orig : t->get_array())
      if (orig.is_object() && orig.get_object() == target) return orig.get_object().if_contains("confirmHook");
  }
  return core::confirm_hook_of(verb, json::object{});
}

std::string first_string(const json::value* v) {
  if (v && v->is_array() && !v->get_array().empty()) v = &v->get_array()[0];
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool is_verb(const json::object& v, std::string_view name) { return str(v, "verb") == name; }

}  // namespace

AudioForkConfig fork_config(const Config& cfg) {
  AudioForkConfig f;
  f.bind_address = cfg.media_fork_address;
  f.advertise_address = cfg.media_fork_advertise;
  f.ng_timeout = std::chrono::milliseconds(cfg.ng_timeout_ms);
  return f;
}

namespace {

}  // namespace

void Screening::start(HeldLeg leg) {
  auto sid = leg.sid;
  d_.tasks.spawn(run(std::move(leg)), [sid](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("screening_failed", {{"call_sid", sid}, {"error", ex.what()}});
    }
  });
}

asio::awaitable<void> Screening::run(HeldLeg leg) {
  auto c = co_await still_screening(leg);
  if (!c) {
    co_await finish(leg, Verdict::Decline);
    co_return;
  }
  log::info("screening_started", {{"call_sid", leg.sid}, {"leg", std::to_string(leg.leg)}});
  auto verdict = co_await screen(leg, *c);
  bool finished = co_await finish(leg, verdict);
  if (finished) co_return;
  // The call is gone (the caller left and its state was deleted): the held callee still gets its BYE, and its
  // branch its 487 so that tm answers the caller's CANCEL.
  core::ScreenEffects fx;
  fx.bye.push_back(leg.leg);
  log::info("screening_ended", {{"call_sid", leg.sid}, {"leg", std::to_string(leg.leg)}, {"verdict", "call_gone"}});
  d_.metrics.screening("call_gone");
  co_await apply(*c, leg.leg, fx);
}

asio::awaitable<Screening::Verdict> Screening::screen(const HeldLeg& leg, const CallState& c) {
  const core::Leg& l = *leg_of(c, leg.leg);
  const bool machines = c.dial->verb.is_object() && core::voicemail_safe(c.dial->verb.get_object());
  auto hook = core::resolve_hook(confirm_hook(c, leg.leg), c.call_hook);
  auto how = machines ? Isolation::Open : Isolation::Silence;
  bool isolated = co_await isolate(c, l, how);
  if (!isolated) co_return Verdict::Decline;
  if (machines) {
    auto machine = co_await machine_check(leg, c, l);
    if (machine == Verdict::Decline) co_return Verdict::Decline;
    if (hook) {  // the confirm app's prompts and keys: the callee is now silenced toward the caller
      bool silenced = co_await quiet_callee(c, l, Isolation::Silence, true);
      if (!silenced) co_return Verdict::Decline;
    }
  }
  if (!hook) co_return Verdict::Accept;  // nothing else screens this leg
  auto payload = core::child_payload(c, l, io::wall_now());
  std::string key = c.call_sid + "-dial-" + std::to_string(leg.dial) + "-confirm-" + std::to_string(leg.leg);
  auto res = co_await d_.hooks.request(c.account_sid, *hook, payload, "confirm", key);
  auto verbs = checked_app(leg, res);
  if (!verbs) co_return Verdict::Decline;
  auto verdict = co_await run_app(leg, std::move(*verbs));
  co_return verdict;
}

asio::awaitable<Screening::Verdict> Screening::machine_check(const HeldLeg& leg, const CallState& c,
                                                              const core::Leg& l) {
  auto node = core::ng::parse_node(c.rtp_node);
  auto amd = core::amd::from_dial(c.dial->verb.get_object());
  if (!node || !amd) co_return Verdict::Accept;
  auto params = amd->params;
  std::optional<Verdict> verdict;
  std::string sid = c.call_sid, leg_sid = l.call_sid;
  AmdRun::OnEvent on_event = [&](const core::amd::Event& e) -> asio::awaitable<void> {
    if (e.type == "amd_machine_detected") verdict = Verdict::Decline;
    if (e.type == "amd_human_detected" || e.type == "amd_no_speech_detected" || e.type == "amd_decision_timeout")
      verdict = Verdict::Accept;
    co_await d_.host.amd_event(sid, leg_sid, e, c);
  };
  // Once decided, the detector is stopped (amd_stopped still goes out) and the screening goes on.
  AmdRun::Wanted wanted = [&]() -> asio::awaitable<bool> {
    if (verdict) co_return false;
    auto cur = co_await still_screening(leg);
    co_return cur.has_value();
  };
  AmdRun::Deps deps{d_.tasks.get_executor(), d_.media, fork_config(d_.cfg)};
  AmdTarget target{*node, c.call_id, l.to_tag};
  bool ran = co_await AmdRun::run(deps, target, params, on_event, wanted);
  log::info("voicemail_safe_checked", {{"call_sid", sid}, {"leg", std::to_string(leg.leg)},
                                       {"ran", ran ? "yes" : "no"},
                                       {"machine", verdict == Verdict::Decline ? "yes" : "no"}});
  co_return verdict.value_or(Verdict::Accept);
}

std::optional<json::array> Screening::checked_app(const HeldLeg& leg, const HookResult& res) {
  if (!res.ok) {
    log::warn("confirm_hook_failed", {{"call_sid", leg.sid}, {"leg", std::to_string(leg.leg)}, {"error", res.error}});
    return std::nullopt;
  }
  // jambonz: an empty (or absent) app accepts at once.
  if (!res.json || !res.json->is_array() || res.json->get_array().empty()) return json::array{};
  auto v = validate_verbs(*res.json);
  if (!v.ok()) {
    log::warn("confirm_app_invalid", {{"call_sid", leg.sid}, {"leg", std::to_string(leg.leg)}, {"error", *v.error}});
    return std::nullopt;
  }
  if (auto bad = core::forbidden_confirm_verb(v.verbs)) {
    log::warn("confirm_app_verb_not_allowed",
              {{"call_sid", leg.sid}, {"leg", std::to_string(leg.leg)}, {"verb", *bad}});
    return std::nullopt;
  }
  return v.verbs;
}

asio::awaitable<bool> Screening::isolate(const CallState& c, const core::Leg& l, Isolation how) {
  auto node = core::ng::parse_node(c.rtp_node);
  if (!node) co_return false;
  // The caller's media is blocked before the answer connects this callee to it.
  core::ng::Request block_caller = core::ng::BlockMedia{c.call_id, core::ng::Party::from_tag(c.from_tag), {}};
  auto b1 = co_await d_.media.request(*node, std::move(block_caller));
  core::ng::Request answer = core::ng::Answer{c.call_id, c.from_tag, l.to_tag, l.held.sdp, l.held.via_branch,
                                              {}, held_sdp_options(c)};
  auto answered = co_await d_.media.request(*node, std::move(answer));
  // And again after it: rtpengine's answer re-subscribes the caller, and its packets flow until blocked anew.
  core::ng::Request reblock = core::ng::BlockMedia{c.call_id, core::ng::Party::from_tag(c.from_tag), {}};
  auto b1again = co_await d_.media.request(*node, std::move(reblock));
  // Silenced as well: a later held callee's answer lifts the block for a moment, not the silence.
  core::ng::Request hush = core::ng::SilenceMedia{c.call_id, core::ng::Party::from_tag(c.from_tag), {}};
  co_await d_.media.request(*node, std::move(hush));
  auto b2 = co_await quiet_callee(c, l, how, true);
  if (answered.ok() && b1.ok() && b1again.ok() && b2) co_return true;
  log::warn("screening_media_failed", {{"call_sid", c.call_sid},
                                       {"answer", answered.detail + answered.reply.error_reason},
                                       {"block", b1.detail + b1.reply.error_reason + b1again.detail}});
  co_return false;
}

asio::awaitable<bool> Screening::quiet_callee(const CallState& c, const core::Leg& l, Isolation how, bool on) {
  auto node = core::ng::parse_node(c.rtp_node);
  if (!node || how == Isolation::Open) co_return node.has_value();
  // Toward the caller. Silenced media is still decoded (the callee's keys reach the DTMF log); rtpengine 10.5
  // silences (and blocks) at the party's ingress, so its forks would get the silence too: the
  // answering-machine check leaves the callee open (README semantics).
  auto callee = core::ng::Party::from_tag(l.to_tag);
  core::ng::Request cmd = core::ng::SilenceMedia{c.call_id, callee, c.from_tag};
  if (!on) cmd = core::ng::UnsilenceMedia{c.call_id, callee, c.from_tag};
  auto res = co_await d_.media.request(*node, std::move(cmd));
  if (!res.ok()) log::warn("screening_callee_media_failed", {{"call_sid", c.call_sid}, {"error", res.detail + res.reply.error_reason}});
  co_return res.ok();
}

asio::awaitable<Screening::Verdict> Screening::run_app(const HeldLeg& leg, json::array verbs) {
  std::size_t i = 0;
  while (i < verbs.size()) {
    auto c = co_await still_screening(leg);
    if (!c) co_return Verdict::Decline;
    const auto& verb = verbs[i].as_object();
    ++i;
    if (is_verb(verb, "hangup")) co_return Verdict::Decline;
    if (is_verb(verb, "play") || is_verb(verb, "say")) {
      auto ms = co_await prompt(*c, *leg_of(*c, leg.leg), verb);
      bool on = co_await wait_screening(leg, ms);
      if (!on) co_return Verdict::Decline;
    } else if (is_verb(verb, "pause")) {
      long long ms = std::clamp<long long>(integer(verb, "length", 1), 0, 60) * 1000;
      bool on = co_await wait_screening(leg, ms);
      if (!on) co_return Verdict::Decline;
    } else if (is_verb(verb, "gather")) {
      auto g = co_await gather(leg, verb);
      if (!g) co_return Verdict::Decline;
      auto next = co_await gather_action(leg, verb, *g);
      if (!next) co_return Verdict::Decline;
      if (!next->empty()) {  // the actionHook's verbs continue the confirm app
        verbs = std::move(*next);
        i = 0;
      }
    }
    // tag, config: nothing to do on a held leg
  }
  co_return Verdict::Accept;
}

asio::awaitable<long long> Screening::prompt(const CallState& c, const core::Leg& l, const json::object& verb) {
  MediaFile file;
  if (is_verb(verb, "play")) {
    json::value url(first_string(verb.if_contains("url")));
    auto source = core::resolve_media_url(&url, c.call_hook);
    if (source) file = co_await d_.files.fetch(*source);
  } else {
    SpeechRequest speech{first_string(verb.if_contains("text")), "", "", ""};
    if (auto* s = verb.if_contains("synthesizer"); s && s->is_object()) {
      speech.vendor = str(s->get_object(), "vendor");
      speech.language = str(s->get_object(), "language");
      speech.voice = str(s->get_object(), "voice");
    }
    file = co_await d_.files.speak(speech);
  }
  auto node = core::ng::parse_node(c.rtp_node);
  if (!file.ok || !node) {
    log::warn("confirm_prompt_unavailable", {{"call_sid", c.call_sid}, {"error", file.error}});
    co_return 0;
  }
  long long loops = std::clamp<long long>(integer(verb, "loop", 1), 1, 10);
  core::ng::Request play = core::ng::PlayMedia{c.call_id, core::ng::Party::from_tag(l.to_tag), file.path, {}, loops};
  auto played = co_await d_.media.request(*node, std::move(play));
  if (!played.ok()) {
    log::warn("confirm_prompt_failed", {{"call_sid", c.call_sid}, {"error", played.detail + played.reply.error_reason}});
    co_return 0;
  }
  co_return std::min(kMaxPromptMs, played.reply.duration_ms.value_or(0) * loops);
}

asio::awaitable<std::optional<Screening::Gathered>> Screening::gather(const HeldLeg& leg, const json::object& verb) {
  // Keys pressed before the gather are not its input.
  auto taken = co_await d_.host.update_call(leg.sid, [&](CallState& s) {
    auto* l = leg_of(s, leg.leg);
    return core::on_screen_digits_taken(s, leg.dial, leg.leg, l ? l->screen_digits.size() : 0);
  });
  if (!taken) co_return std::nullopt;
  auto c = co_await still_screening(leg);
  if (!c) co_return std::nullopt;
  long long prompt_ms = 0;
  static constexpr std::array<const char*, 2> kNested{"say", "play"};
  for (const char* nested : kNested) {
    auto* p = verb.if_contains(nested);
    if (!p || !p->is_object()) continue;
    json::object pv = p->get_object();
    pv["verb"] = nested;
    prompt_ms = co_await prompt(*c, *leg_of(*c, leg.leg), pv);
  }
  const long long num = integer(verb, "numDigits", integer(verb, "maxDigits", 0));
  const std::string finish_key = str(verb, "finishOnKey");
  const long long timeout_ms = std::clamp<long long>(integer(verb, "timeout", 5), 1, 120) * 1000;
  auto deadline = io::epoch_ms() + prompt_ms + timeout_ms;
  bool barged = prompt_ms == 0;
  for (;;) {
    auto cur = co_await still_screening(leg);
    if (!cur) co_return std::nullopt;
    const auto& l = *leg_of(*cur, leg.leg);
    if (!l.screen_digits.empty() && !barged) {  // a key stops the prompt (barge-in)
      barged = true;
      co_await stop_prompt(*cur, l);
    }
    auto done = gathered(l.screen_digits, num, finish_key, io::epoch_ms() >= deadline);
    if (done) co_return done;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(kGatherPollMs));
    co_await t.async_wait(asio::use_awaitable);
  }
}

std::optional<Screening::Gathered> Screening::gathered(const std::string& digits, long long num,
                                                       const std::string& finish_key, bool timed_out) {
  if (!finish_key.empty()) {
    auto at = digits.find(finish_key[0]);
    if (at != std::string::npos) return Gathered{digits.substr(0, at), "dtmfDetected"};
  }
  if (num > 0 && static_cast<long long>(digits.size()) >= num)
    return Gathered{digits.substr(0, static_cast<std::size_t>(num)), "dtmfDetected"};
  if (timed_out) return Gathered{digits, "timeout"};
  return std::nullopt;
}

asio::awaitable<void> Screening::stop_prompt(const CallState& c, const core::Leg& l) {
  auto node = core::ng::parse_node(c.rtp_node);
  if (!node) co_return;
  core::ng::Request stop = core::ng::StopMedia{c.call_id, core::ng::Party::from_tag(l.to_tag)};
  co_await d_.media.request(*node, std::move(stop));
}

asio::awaitable<std::optional<json::array>> Screening::gather_action(const HeldLeg& leg, const json::object& verb,
                                                                     const Gathered& g) {
  auto c = co_await still_screening(leg);
  if (!c) co_return std::nullopt;
  auto hook = core::resolve_hook(verb.if_contains("actionHook"), c->call_hook);
  if (!hook) co_return json::array{};
  auto payload = core::child_payload(*c, *leg_of(*c, leg.leg), io::wall_now());
  payload["reason"] = g.reason;
  if (!g.digits.empty()) payload["digits"] = g.digits;
  std::string key = c->call_sid + "-dial-" + std::to_string(leg.dial) + "-confirm-" + std::to_string(leg.leg) +
                    "-gather-" + std::to_string(io::epoch_ms());
  auto res = co_await d_.hooks.request(c->account_sid, *hook, payload, "action", key);
  co_return checked_app(leg, res);
}

asio::awaitable<bool> Screening::wait_screening(const HeldLeg& leg, long long ms) {
  auto until = io::epoch_ms() + ms;
  while (io::epoch_ms() < until) {
    asio::steady_timer t(co_await asio::this_coro::executor,
                         std::chrono::milliseconds(std::min(kPollMs, until - io::epoch_ms())));
    co_await t.async_wait(asio::use_awaitable);
    auto c = co_await still_screening(leg);
    if (!c) co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<CallState>> Screening::still_screening(const HeldLeg& leg) {
  auto cur = co_await d_.calls.load(leg.sid);
  if (!cur || !core::still_screening(cur->state, leg.dial, leg.leg)) co_return std::nullopt;
  co_return std::move(cur->state);
}

asio::awaitable<bool> Screening::finish(const HeldLeg& leg, Verdict v) {
  core::ScreenEffects fx;
  double now = io::wall_now();
  std::optional<CallState> after;
  auto t = co_await d_.host.update_call(leg.sid, [&](CallState& c) {
    fx = {};
    auto tr = v == Verdict::Accept ? core::on_screen_accepted(c, leg.dial, leg.leg, now, fx)
                                   : core::on_screen_declined(c, leg.dial, leg.leg, now, fx);
    after = c;
    return tr;
  });
  if (!t || !after) co_return false;
  log::info("screening_ended", {{"call_sid", leg.sid},
                                {"leg", std::to_string(leg.leg)},
                                {"verdict", fx.release ? "accepted" : "declined"}});
  d_.metrics.screening(fx.release ? "accepted" : "declined");
  co_await apply(*after, leg.leg, fx);
  co_return true;
}

asio::awaitable<void> Screening::apply(const CallState& c, int leg, const core::ScreenEffects& fx) {
  auto timeout = std::chrono::milliseconds(d_.cfg.rpc_timeout_ms);
  if (fx.release) {
    if (const auto* winner = leg_of(c, leg)) co_await release(c, *winner);
  }
  for (int i : fx.bye) {
    const auto* l = leg_of(c, i);
    if (!l) continue;
    // A leg ended while the caller still waits: its tm branch must end too, or tm waits for it.
    bool fail_branch = !fx.release;
    try {
      co_await d_.kamailio.end_held(c.node, c.call_id, l->held, fail_branch, timeout);
    } catch (const std::exception& e) {
      log::warn("screening_bye_failed", {{"call_sid", c.call_sid}, {"leg", std::to_string(i)}, {"error", e.what()}});
    }
  }
}

asio::awaitable<void> Screening::release(const CallState& c, const core::Leg& winner) {
  auto node = core::ng::parse_node(c.rtp_node);
  if (!node) co_return;
  // Answer again: another held leg may have moved the caller's side of the call to itself.
  core::ng::Request answer = core::ng::Answer{c.call_id, c.from_tag, winner.to_tag, winner.held.sdp,
                                              winner.held.via_branch, {}, held_sdp_options(c)};
  auto answered = co_await d_.media.request(*node, std::move(answer));
  std::vector<core::ng::Request> cmds{
      core::ng::UnblockMedia{c.call_id, core::ng::Party::from_tag(c.from_tag), {}},
      core::ng::UnsilenceMedia{c.call_id, core::ng::Party::from_tag(c.from_tag), {}},
      core::ng::UnsilenceMedia{c.call_id, core::ng::Party::from_tag(winner.to_tag), c.from_tag},
      core::ng::StopMedia{c.call_id, core::ng::Party::from_tag(winner.to_tag)}};
  if (!c.dial->music_file.empty()) cmds.push_back(core::ng::StopMedia{c.call_id, core::ng::Party::from_tag(c.from_tag)});
  for (auto& cmd : cmds) co_await d_.media.request(*node, std::move(cmd));
  if (!answered.ok() || !answered.reply.sdp) {
    log::error("screening_release_no_sdp", {{"call_sid", c.call_sid}, {"error", answered.detail + answered.reply.error_reason}});
  }
  std::string sdp = answered.reply.sdp.value_or(winner.held.sdp);
  try {
    co_await d_.kamailio.release_held(c.node, c.call_id, winner.held, winner.to_tag, sdp,
                                      std::chrono::milliseconds(d_.cfg.rpc_timeout_ms));
  } catch (const std::exception& e) {
    log::error("screening_release_failed", {{"call_sid", c.call_sid}, {"error", e.what()}});
    co_return;
  }
  d_.host.answered(c);
}

}  // namespace dp::app
