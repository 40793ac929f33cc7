// One party's audio (or several parties') of a call, forked by rtpengine to UDP sockets dialplane owns: the
// input of answering-machine detection now, of `listen`/`transcribe` later (docs/media.md, "Audio fork").
//
// start(): `subscribe request` for the parties' from-tags → rtpengine offers one sendonly m-line per party;
// dialplane binds one UDP socket per m-line and answers (`subscribe answer`, recvonly, G.711 + telephone-event).
// Each socket's datagrams are parsed once (core::rtp), decoded and cut into 20 ms frames, queued (bounded) and
// handed to the sink in order. stop(): the sockets close and `unsubscribe` ends rtpengine's side; the call
// itself goes on.
#pragma once
#include "app/ports/media_port.hpp"
#include "core/ng_protocol.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace dp::app {

// One party's audio (or several parties) of a call, forked by rtpengine to UDP sockets dialplane owns.
struct AudioForkSpec {
  core::ng::Node node;  // the rtpengine anchoring the call
  std::string call_id;
  std::vector<std::string> from_tags;  // the parties to fork (at least one)
};

struct AudioForkConfig {
  std::string bind_address = "127.0.0.1";  // the fork's sockets (an ephemeral port each)
  std::string advertise_address;           // the address rtpengine sends to; default = bind_address
  std::chrono::milliseconds ng_timeout{3000};
  std::size_t max_queue = 250;  // frames waiting for the sink (5 s of one party); more are dropped and counted
};

// Frames of 20 ms, 8 kHz, int16 linear (G.711 decoded); `stream` = index into from_tags. Called on the fork's
// executor, never after stop() began.
using AudioSink = std::function<void(std::size_t stream, std::span<const std::int16_t> pcm)>;

// rtpengine refused the fork, or it did not answer in time, or a socket could not be bound.
class AudioForkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AudioFork {
 public:
  struct Stats {
    std::uint64_t packets = 0;    // RTP datagrams received
    std::uint64_t frames = 0;     // 20 ms frames handed to the sink
    std::uint64_t events = 0;     // telephone-event packets (ignored)
    std::uint64_t stale = 0;      // duplicate or late packets (dropped)
    std::uint64_t malformed = 0;  // not RTP, or not G.711, or from another sender than the first
    std::uint64_t dropped = 0;    // frames dropped because the queue was full
  };

  // Throws AudioForkError when rtpengine refuses (what it answered is in the message); nothing stays
  // subscribed then. `media` must outlive the fork. Use the fork on `ex`'s thread only.
  static boost::asio::awaitable<std::shared_ptr<AudioFork>> start(boost::asio::any_io_executor ex, MediaPort& media,
                                                                   AudioForkConfig cfg, AudioForkSpec spec,
                                                                   AudioSink sink);

  // Closes the sockets (the sink is not called any more) and sends `unsubscribe`. Idempotent; never throws;
  // an NG failure is logged (rtpengine then keeps sending to closed ports until the call ends).
  boost::asio::awaitable<void> stop();

  // Without a stop(): the sockets close at once but rtpengine is not told (no await in a destructor).
  ~AudioFork();
  AudioFork(const AudioFork&) = delete;
  AudioFork& operator=(const AudioFork&) = delete;

  // False once stopped, or ended by a socket error (then end_reason() says why).
  bool running() const;
  const std::string& end_reason() const;
  const std::string& to_tag() const;                  // rtpengine's tag of this subscription
  const std::vector<std::uint16_t>& ports() const;    // the local port of each stream, by stream index
  Stats stats() const;

  struct State;  // shared with the fork's coroutines, which may outlive the object by a moment

 private:
  explicit AudioFork(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace dp::app
