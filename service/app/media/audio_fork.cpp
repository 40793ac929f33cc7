#include "app/media/audio_fork.hpp"

#include "core/log.hpp"
#include "core/rtp.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

namespace dp::app {

namespace asio = boost::asio;
namespace ng = core::ng;
namespace rtp = core::rtp;
using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;

namespace {

struct Frame {
  std::size_t stream = 0;
  std::array<std::int16_t, rtp::kFrameSamples> pcm{};
};

// One m-line of the subscription: the socket rtpengine sends that party's audio to.
struct Stream {
  Stream(asio::any_io_executor ex, std::size_t i, int event_pt) : socket(std::move(ex)), index(i), assembler(event_pt) {}
  udp::socket socket;
  std::size_t index;  // into the spec's from_tags
  rtp::FrameAssembler assembler;
  std::optional<udp::endpoint> sender;  // the first one; rtpengine sends each stream from one port
};

// An NG request bounded by the fork's own timeout (the client's may be longer).
asio::awaitable<io::NgResult> ask(MediaPort& media, const ng::Node& node, ng::Request req,
                                  std::chrono::milliseconds timeout) {
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto r = co_await (media.request(node, std::move(req)) || timer.async_wait(asio::use_awaitable));
  if (r.index() == 0) co_return std::get<0>(std::move(r));
  io::NgResult late;
  late.kind = io::NgResult::Kind::Timeout;
  late.detail = "no reply within " + std::to_string(timeout.count()) + " ms";
  co_return late;
}

std::string why(const io::NgResult& r) {
  std::string s(io::to_string(r.kind));
  if (!r.reply.error_reason.empty()) s += ": " + r.reply.error_reason;
  else if (!r.detail.empty()) s += ": " + r.detail;
  return s;
}

// Which from-tag index each m-line carries: rtpengine lists the forked tags in m= order. Unless that list is a
// permutation of the tags asked for, the order asked for.
std::vector<std::size_t> stream_indexes(const std::vector<std::string>& asked, const std::vector<std::string>& listed,
                                        std::size_t mlines) {
  std::vector<std::size_t> identity(mlines), out;
  for (std::size_t i = 0; i < mlines; ++i) identity[i] = i;
  if (listed.size() != mlines || asked.size() != mlines) return identity;
  for (const auto& tag : listed) {
    auto it = std::find(asked.begin(), asked.end(), tag);
    auto idx = static_cast<std::size_t>(it - asked.begin());
    if (it == asked.end() || std::find(out.begin(), out.end(), idx) != out.end()) return identity;
    out.push_back(idx);
  }
  return out;
}

}  // namespace

struct AudioFork::State {
  State(asio::any_io_executor e, MediaPort& m, AudioForkConfig c, AudioForkSpec s, AudioSink k)
      : ex(e), media(m), cfg(std::move(c)), spec(std::move(s)), sink(std::move(k)), wake(e) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }

  asio::any_io_executor ex;
  MediaPort& media;
  AudioForkConfig cfg;
  AudioForkSpec spec;
  AudioSink sink;
  std::string to_tag;
  std::vector<std::unique_ptr<Stream>> streams;  // in m-line order
  std::vector<std::uint16_t> ports;  // by stream index (into the spec's from_tags), not m-line order
  std::deque<Frame> queue;
  asio::steady_timer wake;
  bool ended = false;
  bool unsubscribed = false;
  std::string end_reason;
  Stats stats;
  std::vector<std::int16_t> frames;  // scratch of the assembler

  // Ends the fork's local side: sockets closed, the queue dropped, both loops return.
  void end(std::string reason) {
    if (ended) return;
    ended = true;
    end_reason = std::move(reason);
    boost::system::error_code ec;
    for (auto& s : streams) s->socket.close(ec);
    queue.clear();
    wake.cancel();
    log::info("audio_fork_ended", {{"call_id", spec.call_id}, {"to_tag", to_tag}, {"reason", end_reason}});
  }

  void enqueue(std::size_t stream, std::span<const std::int16_t> pcm) {
    for (std::size_t at = 0; at + rtp::kFrameSamples <= pcm.size(); at += rtp::kFrameSamples) {
      if (queue.size() >= cfg.max_queue) {
        ++stats.dropped;
        continue;
      }
      Frame f;
      f.stream = stream;
      std::copy_n(pcm.begin() + static_cast<std::ptrdiff_t>(at), rtp::kFrameSamples, f.pcm.begin());
      queue.push_back(f);
    }
    wake.cancel_one();
  }

  void accept(Stream& s, const udp::endpoint& from, std::span<const std::uint8_t> datagram) {
    ++stats.packets;
    if (!s.sender) s.sender = from;
    auto p = rtp::parse(datagram);
    if (!p || *s.sender != from) {
      ++stats.malformed;
      return;
    }
    switch (s.assembler.push(*p, frames)) {
      case rtp::FrameAssembler::Outcome::Audio: enqueue(s.index, frames); break;
      case rtp::FrameAssembler::Outcome::Event: ++stats.events; break;
      case rtp::FrameAssembler::Outcome::Stale: ++stats.stale; break;
      case rtp::FrameAssembler::Outcome::Unsupported: ++stats.malformed; break;
    }
  }

  asio::awaitable<io::NgResult> unsubscribe() {
    unsubscribed = true;
    ng::Request req = ng::Unsubscribe{spec.call_id, to_tag};  // a named local: docs/coroutines.md rule 3
    co_return co_await ask(media, spec.node, std::move(req), cfg.ng_timeout);
  }
};

namespace {

using State = AudioFork::State;

asio::awaitable<void> receive(std::shared_ptr<State> s, Stream& st) {
  std::array<std::uint8_t, 2048> buf{};
  while (!s->ended) {
    udp::endpoint from;
    auto [ec, n] = co_await st.socket.async_receive_from(asio::buffer(buf), from, asio::as_tuple(asio::use_awaitable));
    if (s->ended) co_return;
    // A closed port answered by ICMP (rtpengine not there yet) is not a reason to stop listening.
    if (ec == asio::error::connection_refused) continue;
    if (ec) {
      s->end("socket error on stream " + std::to_string(st.index) + ": " + ec.message());
      co_return;
    }
    s->accept(st, from, std::span<const std::uint8_t>(buf.data(), n));
  }
}

asio::awaitable<void> deliver(std::shared_ptr<State> s) {
  std::size_t since_yield = 0;
  while (!s->ended) {
    if (s->queue.empty()) {
      co_await s->wake.async_wait(asio::as_tuple(asio::use_awaitable));  // woken by enqueue() or end()
      continue;
    }
    Frame f = s->queue.front();
    s->queue.pop_front();
    ++s->stats.frames;
    try {
      s->sink(f.stream, std::span<const std::int16_t>(f.pcm));
    } catch (const std::exception& e) {
      log::warn("audio_fork_sink_failed", {{"call_id", s->spec.call_id}, {"error", e.what()}});
    } catch (...) {
      log::warn("audio_fork_sink_failed", {{"call_id", s->spec.call_id}, {"error", "not a std::exception"}});
    }
    // A backlog is delivered in slices, so one fork does not hold the thread every other call runs on.
    if (++since_yield % 32 == 0) co_await asio::post(s->ex, asio::use_awaitable);
  }
}

void spawn(const std::shared_ptr<State>& s, asio::awaitable<void> task) {
  asio::co_spawn(s->ex, std::move(task), [call_id = s->spec.call_id](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("audio_fork_task_failed", {{"call_id", call_id}, {"error", ex.what()}});
    } catch (...) {
      log::error("audio_fork_task_failed", {{"call_id", call_id}, {"error", "not a std::exception"}});
    }
  });
}

// One socket per offered audio m-line; the answer SDP names them. An empty string: done; else why not.
std::string open_streams(State& s, const ng::NgReply& offer) {
  std::vector<rtp::OfferedMedia> audio;
  for (auto& m : rtp::offered_media(offer.sdp.value_or("")))
    if (m.type == "audio") audio.push_back(std::move(m));
  if (audio.size() != s.spec.from_tags.size())
    return "rtpengine offered " + std::to_string(audio.size()) + " audio streams for " +
           std::to_string(s.spec.from_tags.size()) + " parties";
  auto indexes = stream_indexes(s.spec.from_tags, offer.from_tags, audio.size());
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s.cfg.bind_address, ec);
  if (ec) return "bad bind address " + s.cfg.bind_address;
  s.ports.assign(audio.size(), 0);
  for (std::size_t i = 0; i < audio.size(); ++i) {
    auto st = std::make_unique<Stream>(s.ex, indexes[i], rtp::answer_for(audio[i], 0).event_pt);
    st->socket.open(addr.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec) st->socket.bind(udp::endpoint(addr, 0), ec);
    if (ec)
      return "cannot bind " + s.cfg.bind_address + ": " + ec.message();
    s.ports[indexes[i]] = st->socket.local_endpoint().port();
    s.streams.push_back(std::move(st));
  }
  return {};
}

std::string answer_sdp(const State& s, const ng::NgReply& offer) {
  auto audio = rtp::offered_media(offer.sdp.value_or(""));
  std::erase_if(audio, [](const rtp::OfferedMedia& m) { return m.type != "audio"; });
  std::vector<rtp::AnsweredMedia> answered;
  for (std::size_t i = 0; i < audio.size(); ++i)
    answered.push_back(rtp::answer_for(audio[i], s.streams[i]->socket.local_endpoint().port()));  // m-line order
  const auto& address = s.cfg.advertise_address.empty() ? s.cfg.bind_address : s.cfg.advertise_address;
  return rtp::subscribe_answer_sdp(address, answered);
}

// The subscription's two NG steps; an empty string when both succeeded, else why not (then the caller
// unsubscribes whatever rtpengine set up).
asio::awaitable<std::string> subscribe(State& s) {
  ng::Request req = ng::SubscribeRequest{s.spec.call_id, s.spec.from_tags, "", {}};
  auto offer = co_await ask(s.media, s.spec.node, std::move(req), s.cfg.ng_timeout);
  if (!offer.ok()) co_return "subscribe request: " + why(offer);
  s.to_tag = offer.reply.to_tag;
  if (s.to_tag.empty() || !offer.reply.sdp) co_return "subscribe request: no to-tag or SDP in the reply";
  if (auto err = open_streams(s, offer.reply); !err.empty()) co_return err;
  ng::Request ans = ng::SubscribeAnswer{s.spec.call_id, s.to_tag, answer_sdp(s, offer.reply), {}};
  auto answered = co_await ask(s.media, s.spec.node, std::move(ans), s.cfg.ng_timeout);
  if (!answered.ok()) co_return "subscribe answer: " + why(answered);
  co_return std::string();
}

}  // namespace

asio::awaitable<std::shared_ptr<AudioFork>> AudioFork::start(asio::any_io_executor ex, MediaPort& media,
                                                             AudioForkConfig cfg, AudioForkSpec spec, AudioSink sink) {
  if (spec.call_id.empty() || spec.from_tags.empty() || !sink)
    throw AudioForkError("audio fork: a call-id, at least one from-tag and a sink are required");
  auto s = std::make_shared<State>(ex, media, std::move(cfg), std::move(spec), std::move(sink));
  std::string err = co_await subscribe(*s);
  if (!err.empty()) {
    if (!s->to_tag.empty()) co_await s->unsubscribe();  // best effort: the refusal is what we report
    s->end(err);
    throw AudioForkError("audio fork of " + s->spec.call_id + ": " + err);
  }
  for (auto& st : s->streams) spawn(s, receive(s, *st));
  spawn(s, deliver(s));
  log::info("audio_fork_started", {{"call_id", s->spec.call_id}, {"to_tag", s->to_tag},
                                   {"streams", std::to_string(s->streams.size())}});
  co_return std::shared_ptr<AudioFork>(new AudioFork(s));
}

asio::awaitable<void> AudioFork::stop() {
  auto s = state_;  // the object may go while this waits
  if (s->unsubscribed) co_return;
  s->end("stopped");
  auto r = co_await s->unsubscribe();
  if (!r.ok())
    log::warn("audio_fork_unsubscribe_failed", {{"call_id", s->spec.call_id}, {"to_tag", s->to_tag}, {"error", why(r)}});
}

AudioFork::~AudioFork() {
  if (state_->unsubscribed) return;
  log::warn("audio_fork_not_stopped", {{"call_id", state_->spec.call_id}, {"to_tag", state_->to_tag}});
  state_->end("destroyed without stop()");
}

bool AudioFork::running() const { return !state_->ended; }
const std::string& AudioFork::end_reason() const { return state_->end_reason; }
const std::string& AudioFork::to_tag() const { return state_->to_tag; }
const std::vector<std::uint16_t>& AudioFork::ports() const { return state_->ports; }
AudioFork::Stats AudioFork::stats() const { return state_->stats; }

}  // namespace dp::app
