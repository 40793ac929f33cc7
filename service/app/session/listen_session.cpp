#include "app/session/listen_session.hpp"

#include "app/media/audio_fork.hpp"
#include "app/session/screening.hpp"  // fork_config
#include "core/dial_machine.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"
#include "io/redis/redis_client.hpp"
#include "io/ws/ws_client.hpp"

#include <boost/asio.hpp>

// Coroutines follow docs/coroutines.md: awaited values go into named locals before being tested, arguments of
// co_await expressions are named locals, no ?: with co_await.

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
namespace ls = core::listen;
using Clock = std::chrono::steady_clock;

// ---- DTMF inboxes ----

std::shared_ptr<ListenInboxes::Inbox> ListenInboxes::open(std::string call_id, std::string listened_tag) {
  auto in = std::make_shared<Inbox>();
  in->call_id = std::move(call_id);
  in->listened_tag = std::move(listened_tag);
  open_.push_back(in);
  return in;
}

void ListenInboxes::close(const std::shared_ptr<Inbox>& inbox) {
  std::erase(open_, inbox);
}

void ListenInboxes::dtmf(const core::DtmfEvent& ev) {
  for (auto& in : open_)
    if (in->call_id == ev.call_id && in->listened_tag == ev.source_tag && in->keys.size() < 32) in->keys.push_back(ev);
}

namespace {

constexpr auto kTick = std::chrono::milliseconds(20);
constexpr auto kPollEvery = std::chrono::milliseconds(250);  // the call's state: ended? listen_status?
constexpr std::size_t kMaxCommands = 32;  // playAudio/killAudio waiting for the player
constexpr auto kBeep = std::chrono::milliseconds(500);

// Everything the session's coroutines share. Lives as long as the longest of them.
struct State {
  State(asio::any_io_executor e, ls::Params p, CallStats& m)
      : ex(e),
        params(std::move(p)),
        machine(params),
        aligner(params.mix == ls::Mix::Mono ? 1 : 2),
        encoder(params.mix, params.sample_rate),
        metrics(m),
        writer_wake(e),
        player_wake(e) {}
  asio::any_io_executor ex;
  ls::Params params;
  ls::Machine machine;
  ls::Aligner aligner;
  ls::Encoder encoder;
  CallStats& metrics;
  std::shared_ptr<io::WsClient> ws;
  ls::SendQueue out;  // 1 s of audio frames, text first
  asio::steady_timer writer_wake, player_wake;
  std::deque<ls::ServerMessage> commands;
  bool ended = false, closed = false, disconnect = false, playing = false, streaming = false, writing = false;
  std::uint64_t frames = 0;

  void send_text(std::string s) {
    if (ended) return;
    if (out.push_text(std::move(s))) writer_wake.cancel();
  }
  void send_binary(std::string s) {
    if (ended) return;
    // The server is slower than real time: the oldest frame goes.
    if (!out.push_audio(std::move(s))) metrics.listen_frames_dropped(1);
    writer_wake.cancel();
  }
  // A 20 ms frame of one party (the fork's sink, on the io thread).
  void frame(std::size_t stream, std::span<const std::int16_t> pcm) {
    if (ended || !streaming) return;
    aligner.push(stream, pcm);
    std::vector<std::int16_t> a, b;
    while (aligner.pop(a, b)) {
      if (!machine.send_frames()) continue;
      send_binary(encoder.encode(a, b, machine.silence()));
    }
  }
  void end() {
    ended = true;
    writer_wake.cancel();
    player_wake.cancel();
    if (ws) ws->abort();
  }
};

void spawn(asio::any_io_executor ex, asio::awaitable<void> task, std::string call_sid, const char* what) {
  asio::co_spawn(ex, std::move(task), [call_sid, what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("listen_task_failed", {{"call_sid", call_sid}, {"task", what}, {"error", ex.what()}});
    } catch (...) {
    }
  });
}

asio::awaitable<void> writer(std::shared_ptr<State> st) {
  while (!st->ended) {
    std::string msg;
    bool text = false;
    if (!st->out.pop(msg, text)) {
      st->writer_wake.expires_at(Clock::time_point::max());
      co_await st->writer_wake.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto ws = st->ws;
    st->writing = true;
    bool ok = co_await ws->write(msg, text);
    st->writing = false;
    if (!ok) {
      st->closed = true;
      break;
    }
    if (!text) {
      ++st->frames;
      st->metrics.listen_frames_sent(1);
    }
  }
}

asio::awaitable<void> reader(std::shared_ptr<State> st, std::string call_sid) {
  while (!st->ended) {
    auto ws = st->ws;
    auto m = co_await ws->read();
    if (!m) {
      st->closed = true;
      break;
    }
    if (!m->text) {
      st->metrics.listen_message("ignored");  // bidirectional streaming (binary audio) is not supported
      continue;
    }
    auto msg = ls::parse_server_message(m->data);
    if (auto* inv = std::get_if<ls::Invalid>(&msg)) {
      st->metrics.listen_message("invalid");
      log::warn("listen_bad_message", {{"call_sid", call_sid}, {"why", inv->reason}});
    } else if (std::holds_alternative<ls::Ignored>(msg)) {
      st->metrics.listen_message("ignored");
    } else if (std::holds_alternative<ls::Disconnect>(msg)) {
      st->metrics.listen_message("disconnect");
      st->disconnect = true;
    } else {
      bool play = std::holds_alternative<ls::PlayAudio>(msg);
      st->metrics.listen_message(play ? "playAudio" : "killAudio");
      if (!st->params.bidirectional) continue;  // disableBidirectionalAudio
      if (st->commands.size() >= kMaxCommands) {
        st->metrics.listen_play("refused");
        continue;
      }
      st->commands.push_back(std::move(msg));
      st->player_wake.cancel();
    }
  }
}

struct Player {
  std::shared_ptr<State> st;
  MediaPort& media;
  MediaFilesPort& files;
  ListenTarget target;
  ls::PlayQueue queue;
  json::value current_id;
  Clock::time_point play_end{};

  void done_frame(const json::value& id) {
    json::object data;
    if (!id.is_null()) data["id"] = id;
    json::object o{{"type", "playDone"}, {"data", std::move(data)}};
    st->send_text(json::serialize(o));
  }

  asio::awaitable<void> stop_media() {
    core::ng::StopMedia s{target.call_id, core::ng::Party::from_tag(target.listened_tag)};
    core::ng::Request req = s;
    auto node = target.node;
    co_await media.request(node, std::move(req));
    st->playing = false;
  }

  asio::awaitable<void> start(ls::PlayAudio item) {
    current_id = item.id;
    play_end = Clock::now();  // a failure: playDone at once, then the next item
    std::string wav;
    if (item.content == ls::PlayAudio::Content::Raw) {
      wav = ls::wav_of_l16(item.audio, item.sample_rate);
    } else {
      wav = std::move(item.audio);
    }
    auto file = co_await files.store(std::move(wav));
    if (!file.ok) {
      st->metrics.listen_play("failed");
      log::warn("listen_play_failed", {{"call_sid", target.call_sid}, {"error", file.error}});
      co_return;
    }
    core::ng::PlayMedia p;
    p.call_id = target.call_id;
    p.to = core::ng::Party::from_tag(target.listened_tag);
    p.file = file.path;
    p.repeat_times = 1;
    core::ng::Request req = p;
    auto node = target.node;
    auto res = co_await media.request(node, std::move(req));
    if (!res.ok()) {
      st->metrics.listen_play("failed");
      log::warn("listen_play_failed", {{"call_sid", target.call_sid},
                                       {"error", res.reply.error_reason.empty() ? res.detail : res.reply.error_reason}});
      co_return;
    }
    st->metrics.listen_play("played");
    st->playing = true;
    play_end = Clock::now() + std::chrono::milliseconds(res.reply.duration_ms.value_or(0));
  }

  asio::awaitable<void> run() {
    while (!st->ended) {
      if (st->commands.empty()) {
        if (queue.playing() && Clock::now() >= play_end) {
          auto id = current_id;
          st->playing = false;
          done_frame(id);
          auto next = queue.done();
          if (next) co_await start(std::move(*next));
          continue;
        }
        st->player_wake.expires_at(queue.playing() ? play_end : Clock::time_point::max());
        co_await st->player_wake.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      auto cmd = std::move(st->commands.front());
      st->commands.pop_front();
      ls::PlayQueue::Step step;
      if (auto* p = std::get_if<ls::PlayAudio>(&cmd)) {
        step = queue.play(std::move(*p));
      } else {
        step = queue.kill();
      }
      if (step.refused) st->metrics.listen_play("refused");
      if (step.stop_current && st->playing) co_await stop_media();
      if (step.start) co_await start(std::move(*step.start));
    }
  }
};

asio::awaitable<void> run_player(std::shared_ptr<Player> p) { co_await p->run(); }

// Marks the listen live in the call ("resume") or gone (""), if the call is still on this dial and bridged.
asio::awaitable<void> mark_listen(CallStorePort& calls, const ListenTarget& t, std::string value) {
  try {
    for (int attempt = 0; attempt < 16; ++attempt) {
      auto cur = co_await calls.load(t.call_sid);
      if (!cur || !cur->state.dial || cur->state.dial->seq != t.dial_seq || cur->state.dial->listen == value)
        co_return;
      if (cur->state.status != core::CallStatus::InProgress) co_return;
      cur->state.dial->listen = value;
      bool saved = co_await calls.save(cur->state, cur->version);
      if (saved) co_return;
    }
  } catch (const io::RedisError& e) {  // listen_status then gets a 422 (or a stale mark): logged, the stream goes on
    log::warn("listen_mark_failed", {{"call_sid", t.call_sid}, {"error", e.what()}});
  }
}

using Deps = ListenRun::Deps;

// The websocket to the app's server, or nothing (the reason is logged; the listen then ends ConnectFailed).
asio::awaitable<std::unique_ptr<io::WsClient>> connect_ws(const Deps& d, const ListenTarget& t, const ls::Params& p,
                                                          const std::string& call_hook_url) {
  auto url = ls::resolve_ws_url(p.url, call_hook_url);
  if (!url) {
    log::warn("listen_connect_failed", {{"call_sid", t.call_sid}, {"why", "listen.url is not a ws(s) URL"}});
    co_return nullptr;
  }
  io::WsConnectOptions o;
  o.url = *url;
  o.username = p.ws_user;
  o.password = p.ws_password;
  o.subprotocol = d.cfg.listen_subprotocol;
  o.connect_timeout = std::chrono::milliseconds(d.cfg.listen_connect_timeout_ms);
  o.verify_tls = d.cfg.webhook_verify_tls;
  o.read_limit = ls::kMaxTextFrame;
  try {
    auto ws = co_await io::WsClient::connect(d.ex, o);
    log::info("listen_connected", {{"call_sid", t.call_sid}, {"url", log::loggable_url(*url)}});
    co_return ws;
  } catch (const io::WsError& e) {
    log::warn("listen_connect_failed", {{"call_sid", t.call_sid},
                                        {"kind", io::to_string(e.kind)},
                                        {"url", log::loggable_url(*url)},
                                        {"error", e.what()}});
  }
  co_return nullptr;
}

// Connected: the metadata frame, the writer/reader/player, the optional beep, then the parties' audio fork.
// Nothing when the fork fails (the listen then ends ForkFailed).
asio::awaitable<std::shared_ptr<AudioFork>> start_stream(const Deps& d, const ListenTarget& t,
                                                         std::shared_ptr<State> st, const core::CallState& c,
                                                         const core::Leg& leg) {
  const auto& p = st->params;
  st->send_text(json::serialize(ls::metadata_frame(c, leg, p, io::wall_now())));
  spawn(d.ex, writer(st), t.call_sid, "writer");
  spawn(d.ex, reader(st, t.call_sid), t.call_sid, "reader");
  auto player = std::make_shared<Player>(Player{st, d.media, d.files, t, {}, {}, {}});
  if (p.play_beep) {
    ls::PlayAudio beep;
    beep.content = ls::PlayAudio::Content::Wav;
    beep.audio = ls::beep_wav();
    co_await player->start(std::move(beep));
    st->playing = false;
    asio::steady_timer wait(d.ex, kBeep);
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  spawn(d.ex, run_player(player), t.call_sid, "player");
  std::vector<std::string> tags{t.listened_tag};
  if (p.mix != ls::Mix::Mono) tags.push_back(t.other_tag);
  AudioForkSpec spec{t.node, t.call_id, tags};
  std::weak_ptr<State> weak = st;
  AudioSink sink = [weak](std::size_t stream, std::span<const std::int16_t> pcm) {
    if (auto s = weak.lock()) s->frame(stream, pcm);
  };
  try {
    auto fork_cfg = fork_config(d.cfg);  // a named local, not a temporary in the co_await (docs/coroutines.md)
    co_return co_await AudioFork::start(d.ex, d.media, fork_cfg, spec, sink);
  } catch (const std::exception& e) {
    log::warn("listen_fork_failed", {{"call_sid", t.call_sid}, {"error", e.what()}});
  }
  co_return nullptr;
}

// What ends the stream without asking Redis (checked every 20 ms): the server, the fork, a key, maxLength.
std::optional<ls::EndReason> local_end(State& st, const ListenTarget& t, const AudioFork& fork,
                                       ListenInboxes::Inbox& inbox, Clock::time_point started) {
  if (st.disconnect) return ls::EndReason::Disconnect;
  if (st.closed) {
    log::info("listen_closed", {{"call_sid", t.call_sid}, {"why", st.ws->closed_reason()}});
    return ls::EndReason::Closed;
  }
  if (!fork.running()) return ls::EndReason::ForkFailed;
  bool finish = false;
  while (!inbox.keys.empty()) {
    auto key = inbox.keys.front();
    inbox.keys.pop_front();
    auto out = st.machine.dtmf(key.key, key.duration_ms);
    if (out.event) st.send_text(json::serialize(*out.event));
    finish = finish || out.finish;
  }
  if (finish) return ls::EndReason::FinishOnKey;
  auto streamed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  if (st.machine.over_max_length(streamed)) return ls::EndReason::MaxLength;
  return std::nullopt;
}

// The call's state (every 250 ms): CallEnded when the call or this dial is over; otherwise listen_status applied.
// `last` keeps the latest state seen (the actionHook's call info). A Redis error: the next poll tries again.
asio::awaitable<std::optional<ls::EndReason>> poll_call(const Deps& d, const ListenTarget& t, State& st,
                                                        core::CallState& last) {
  std::optional<CallStorePort::Versioned> polled;
  try {
    polled = co_await d.watch.current(t.call_sid);
  } catch (const io::RedisError& e) {
    log::warn("listen_poll_failed", {{"call_sid", t.call_sid}, {"error", e.what()}});
    co_return std::nullopt;
  }
  if (polled) last = polled->state;
  if (!polled || polled->state.status != core::CallStatus::InProgress || !polled->state.dial ||
      polled->state.dial->seq != t.dial_seq)
    co_return ls::EndReason::CallEnded;
  const auto& status = last.dial->listen;
  if (!status.empty()) {
    auto before = st.machine.status();
    st.machine.set_status(status);
    if (before != st.machine.status()) log::info("listen_status", {{"call_sid", t.call_sid}, {"status", status}});
  }
  co_return std::nullopt;
}

// Streams until something ends the listen; returns what did.
asio::awaitable<ls::EndReason> stream_until_end(const Deps& d, const ListenTarget& t, State& st, const AudioFork& fork,
                                                ListenInboxes::Inbox& inbox, Clock::time_point started,
                                                core::CallState& last) {
  auto next_poll = started + kPollEvery;
  asio::steady_timer tick(d.ex);
  for (;;) {
    tick.expires_after(kTick);
    co_await tick.async_wait(asio::use_awaitable);
    if (auto end = local_end(st, t, fork, inbox, started)) co_return *end;
    auto now = Clock::now();
    if (now < next_poll) continue;
    next_poll = now + kPollEvery;
    if (auto end = co_await poll_call(d, t, st, last)) co_return *end;
  }
}

// The end: stop what plays, the fork, the websocket; the call goes on.
asio::awaitable<void> stop_stream(const Deps& d, const ListenTarget& t, State& st, std::shared_ptr<AudioFork> fork,
                                  ls::EndReason reason) {
  st.streaming = false;
  bool was_playing = st.playing;
  auto ws_ref = st.ws;
  st.ended = true;
  st.writer_wake.cancel();
  st.player_wake.cancel();
  if (fork) co_await fork->stop();
  if (was_playing && reason != ls::EndReason::CallEnded) {
    core::ng::StopMedia s{t.call_id, core::ng::Party::from_tag(t.listened_tag)};
    core::ng::Request req = s;
    auto node = t.node;
    co_await d.media.request(node, std::move(req));
  }
  // A close frame counts as a write for Beast: with a frame still being written, the socket is just closed.
  if (ws_ref && st.writing) {
    ws_ref->abort();
  } else if (ws_ref) {
    co_await ws_ref->close();
  }
  if (reason != ls::EndReason::CallEnded && fork) {
    std::string none;
    co_await mark_listen(d.calls, t, none);
  }
}

}  // namespace

asio::awaitable<void> ListenRun::run(Deps d, ListenTarget t, ls::Params params) {
  auto cur = co_await d.calls.load(t.call_sid);
  if (!cur || !cur->state.dial || cur->state.dial->seq != t.dial_seq || cur->state.dial->winner < 0) co_return;
  core::CallState last = cur->state;
  d.metrics.listen_started();
  auto st = std::make_shared<State>(d.ex, std::move(params), d.metrics);
  auto inbox = d.inboxes.open(t.call_id, t.listened_tag);
  bool reported = false;
  // Cancellation (the service stopping) ends the run at any co_await: what needs no await is undone here.
  struct Guard {
    std::shared_ptr<State>& st;
    ListenInboxes& inboxes;
    std::shared_ptr<ListenInboxes::Inbox>& inbox;
    CallStats& metrics;
    bool& reported;
    ~Guard() {
      st->end();
      inboxes.close(inbox);
      if (!reported) metrics.listen_ended("shutdown");
    }
  } guard{st, d.inboxes, inbox, d.metrics, reported};

  ls::EndReason reason = ls::EndReason::ConnectFailed;
  std::shared_ptr<AudioFork> fork;
  Clock::time_point started{};
  if (auto ws = co_await connect_ws(d, t, st->params, last.call_hook.url)) {
    st->ws = std::shared_ptr<io::WsClient>(std::move(ws));
    fork = co_await start_stream(d, t, st, last, last.dial->legs[last.dial->winner]);
    reason = ls::EndReason::ForkFailed;
  }
  if (fork) {
    st->streaming = true;
    started = Clock::now();
    std::string live = "resume";
    co_await mark_listen(d.calls, t, live);
    reason = co_await stream_until_end(d, t, *st, *fork, *inbox, started, last);
  }
  long long streamed_ms = 0;
  if (fork) streamed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  co_await stop_stream(d, t, *st, fork, reason);
  reported = true;
  d.metrics.listen_ended(ls::to_string(reason));
  log::info("listen_ended", {{"call_sid", t.call_sid},
                             {"reason", ls::to_string(reason)},
                             {"streamed_ms", std::to_string(streamed_ms)},
                             {"frames", std::to_string(st->frames)},
                             {"dropped", std::to_string(st->out.dropped())}});
  auto hook = core::resolve_hook(&st->params.action_hook, last.call_hook);
  if (hook) {
    auto payload = ls::action_payload(last, streamed_ms, st->machine.digits(), io::wall_now());
    std::string key = t.call_sid + "-listen-" + std::to_string(t.dial_seq);
    co_await d.hooks.request(last.account_sid, *hook, payload, "listen", key);  // the answer is ignored
  }
}

}  // namespace dp::app
