#include "app/session/live_call.hpp"

#include "core/call_info.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"
#include "io/redis/redis_client.hpp"

// Awaited values go into named locals before being tested, arguments are named locals (docs/coroutines.md).

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
using Outcome = LiveCallControl::Outcome;

namespace {

// What a call's BYEs carry when the API hangs it up.
constexpr const char* kHangUpReason = "Reason: SIP;cause=200;text=\"call_status completed (REST API)\"\r\n";

Outcome ng_failure(const io::NgResult& r, std::string_view what) {
  if (r.kind == io::NgResult::Kind::RtpengineError)
    return {422, "rtpengine refused " + std::string(what) + ": " + r.reply.error_reason};
  return {503, "rtpengine did not answer " + std::string(what) + " (" + std::string(io::to_string(r.kind)) + ")"};
}

std::string_view result_of(int status) {
  if (status < 300) return "accepted";
  return status < 500 ? "refused" : "failed";
}

}  // namespace

LiveCallControl::LiveCallControl(Deps d) : d_(d) {}

Outcome LiveCallControl::counted(std::string_view op, const std::string& sid, Outcome o) {
  d_.metrics.call_update(op, result_of(o.status));
  log::info("call_update", {{"call_sid", sid}, {"op", op}, {"status", std::to_string(o.status)}, {"msg", o.msg}});
  return o;
}

asio::awaitable<std::optional<CallStorePort::Versioned>> LiveCallControl::find(const std::string& account_sid,
                                                                               const std::string& sid) {
  auto cur = co_await d_.calls.load(sid);
  if (!cur) {
    auto parent = co_await d_.calls.sid_for_leg(sid);
    if (parent) cur = co_await d_.calls.load(*parent);
  }
  // Another account's call is no call of this one: 404, as for an unknown sid.
  if (!cur || cur->state.account_sid != account_sid) co_return std::nullopt;
  co_return cur;
}

asio::awaitable<Outcome> LiveCallControl::update(const std::string& account_sid, const std::string& sid,
                                                 const core::CallUpdate& u) {
  auto op = core::to_string(u.op);
  auto cur = co_await find(account_sid, sid);
  if (!cur) co_return counted(op, sid, {404, "call not found"});
  auto d = core::decide_update(cur->state, sid, u);
  Outcome o;
  switch (d.action) {
    case core::UpdateDecision::Action::Refuse:
      o = {d.refusal.status, d.refusal.msg};
      break;
    case core::UpdateDecision::Action::HangUp:
      o = co_await hang_up(cur->state);
      break;
    case core::UpdateDecision::Action::CancelDial:
      o = co_await cancel_dial(cur->state, d.dial_seq);
      break;
    case core::UpdateDecision::Action::Listen: {
      // named locals, not temporaries in the co_await (GCC 12, docs/coroutines.md)
      std::function<bool(core::CallState&)> record = [status = u.listen_status](core::CallState& c) {
        return core::record_listen_status(c, status);
      };
      std::string why = "no listen is active on this call";
      o = co_await record_in_call(cur->state.call_sid, sid, std::move(record), std::move(why));
      break;
    }
    case core::UpdateDecision::Action::Transcribe: {
      std::function<bool(core::CallState&)> record = [paused = u.op == core::CallUpdate::Op::TranscribePause](
                                                         core::CallState& c) {
        return core::record_transcribe_pause(c, paused);
      };
      std::string why = "the call ended or is no longer bridged";
      o = co_await record_in_call(cur->state.call_sid, sid, std::move(record), std::move(why));
      break;
    }
    case core::UpdateDecision::Action::Media:
      if (u.op == core::CallUpdate::Op::Mute || u.op == core::CallUpdate::Op::Unmute) {
        o = co_await mute(cur->state.call_sid, sid, d.media, u.op == core::CallUpdate::Op::Mute);
      } else if (u.op == core::CallUpdate::Op::Dtmf) {
        o = co_await dtmf(d.media, u.dtmf);
      }
      break;
  }
  // jambonz whispers after the operation, and only when it went through.
  if (o.status < 300 && u.whisper && d.action == core::UpdateDecision::Action::Media) {
    d_.tasks.spawn(play_whisper(account_sid, sid, *u.whisper), [sid](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("whisper_failed", {{"call_sid", sid}, {"error", ex.what()}});
      }
    });
  }
  co_return counted(op, sid, o);
}

asio::awaitable<Outcome> LiveCallControl::hang_up(const core::CallState& c) {
  std::string reason = kHangUpReason;
  try {
    co_await d_.session.hang_up(c, reason);
  } catch (const io::RedisError&) {
    throw;
  } catch (const std::exception& e) {
    // Kamailio did not end the dialog (unreachable, or an RPC error other than "no such dialog"): nothing changed.
    co_return Outcome{503, std::string("the SIP proxy did not end the call: ") + e.what()};
  }
  co_return Outcome{};
}

asio::awaitable<Outcome> LiveCallControl::cancel_dial(const core::CallState& c, int dial_seq) {
  auto r = co_await d_.session.cancel_ringing_dial(c.call_sid, dial_seq, "rest_no_answer");
  switch (r) {
    case SessionControl::DialCancel::Cancelled:
      break;
    case SessionControl::DialCancel::NotRinging:
      co_return Outcome{422, "current call state is incompatible with requested action for call_sid " + c.call_sid +
                                 ": the dial was answered or ended meanwhile"};
    case SessionControl::DialCancel::CancelFailed:
      co_return Outcome{503, "the SIP proxy did not cancel the dial (tm.cancel failed); it ends at its ring timeout"};
  }
  co_return Outcome{};
}

asio::awaitable<Outcome> LiveCallControl::mute(const std::string& call_sid, const std::string& sid,
                                               const core::MediaTarget& m, bool muted) {
  auto req = core::mute_request(m, muted);
  auto node = m.node;
  auto res = co_await d_.media.request(node, std::move(req));
  if (!res.ok()) co_return ng_failure(res, muted ? "block media" : "unblock media");
  // Remember it in the call (listing, and whatever re-anchors media later). A call that ended or moved on
  // meanwhile needs no mark.
  try {
    std::function<bool(core::CallState&)> mark = [&](core::CallState& c) { return core::record_mute(c, sid, muted); };
    co_await d_.session.record(call_sid, std::move(mark));
  } catch (const io::RedisError&) {
    throw;
  } catch (const std::runtime_error&) {
    // Kept changing under us: the media is muted all the same; only the listing may miss the mark.
  }
  co_return Outcome{};
}

asio::awaitable<Outcome> LiveCallControl::record_in_call(const std::string& call_sid, const std::string& sid,
                                                         std::function<bool(core::CallState&)> record,
                                                         std::string why) {
  bool recorded = false;
  bool contended = false;
  try {
    recorded = co_await d_.session.record(call_sid, std::move(record));
  } catch (const io::RedisError&) {
    throw;
  } catch (const std::runtime_error&) {
    contended = true;
  }
  if (contended) co_return Outcome{503, "the call's state kept changing; retry"};
  if (!recorded)
    co_return Outcome{422, "current call state is incompatible with requested action for call_sid " + sid + ": " + why};
  co_return Outcome{};
}

asio::awaitable<Outcome> LiveCallControl::dtmf(const core::MediaTarget& m, const core::DtmfRequest& r) {
  auto keys = core::dtmf_requests(m, r);
  auto node = m.node;
  // One command per key, in order: rtpengine queues them with its pause between events.
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto res = co_await d_.media.request(node, std::move(keys[i]));
    if (!res.ok())
      co_return ng_failure(res,
                           "play DTMF (" + std::to_string(i) + " of " + std::to_string(keys.size()) + " keys sent)");
  }
  co_return Outcome{};
}

asio::awaitable<void> LiveCallControl::play_whisper(std::string account_sid, std::string sid, core::WhisperRequest w) {
  MediaFile file;
  if (w.verb == core::WhisperRequest::Verb::Play) {
    file = co_await d_.files.fetch(w.url);
  } else {
    SpeechRequest speech{w.text, w.vendor, w.language, w.voice};
    file = co_await d_.files.speak(speech);
  }
  if (!file.ok) {
    d_.metrics.call_update("whisper", "media_failed");
    log::warn("whisper_media_failed", {{"call_sid", sid}, {"error", file.error}});
    co_return;
  }
  // Fetching or rendering takes a while: the leg must still be bridged now.
  auto cur = co_await find(account_sid, sid);
  core::CallUpdate only_whisper;
  auto d = cur ? core::decide_update(cur->state, sid, only_whisper) : core::UpdateDecision{};
  if (d.action != core::UpdateDecision::Action::Media) {
    d_.metrics.call_update("whisper", "call_gone");
    log::info("whisper_call_gone", {{"call_sid", sid}});
    co_return;
  }
  auto req = core::whisper_request(d.media, file.path);
  auto node = d.media.node;
  auto res = co_await d_.media.request(node, std::move(req));
  if (!res.ok()) {
    d_.metrics.call_update("whisper", "play_failed");
    log::warn("whisper_play_failed", {{"call_sid", sid},
                                      {"kind", io::to_string(res.kind)},
                                      {"error", res.reply.error_reason.empty() ? res.detail : res.reply.error_reason}});
    co_return;
  }
  d_.metrics.call_update("whisper", "played");
  log::info("whisper_played", {{"call_sid", sid}, {"file", file.path}});
}

asio::awaitable<std::optional<json::object>> LiveCallControl::info(const std::string& account_sid,
                                                                   const std::string& sid) {
  auto cur = co_await find(account_sid, sid);
  if (!cur) co_return std::nullopt;
  co_return core::call_info(cur->state, sid, io::wall_now());
}

asio::awaitable<json::array> LiveCallControl::list(const std::string& account_sid) {
  auto calls = co_await d_.calls.live_calls(account_sid, kListLimit);
  json::array out;
  double now = io::wall_now();
  for (const auto& c : calls) {
    if (c.account_sid != account_sid) continue;
    for (auto& entry : core::call_infos(c, now)) out.push_back(std::move(entry));
  }
  co_return out;
}

}  // namespace dp::app
