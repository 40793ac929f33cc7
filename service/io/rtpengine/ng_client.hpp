// rtpengine NG client over UDP (docs/media.md): one socket per address family shared by every request, a fresh
// random cookie per request, retransmission with the same cookie, a total timeout, a bounded number of
// requests in flight, and a typed result instead of exceptions. Each request names the rtpengine node it
// goes to (the one Kamailio used for the call).
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/ng_protocol.hpp"

namespace dp::io {

struct NgResult {
  enum class Kind {
    Ok,              // rtpengine answered ok (or pong); reply.warning may say something
    RtpengineError,  // rtpengine answered error or load limit: reply.error_reason says why
    Timeout,         // no reply within the request's timeout, retransmissions included
    Malformed,       // a datagram with our cookie that is not a valid NG reply: detail says why
    Overloaded,      // too many requests in flight; nothing was sent
    Unreachable,     // the node's name did not resolve, or the socket could not be opened
    Cancelled,       // the caller's await was cancelled, or the client stopped
  };
  Kind kind = Kind::Timeout;
  core::ng::NgReply reply;  // Ok and RtpengineError
  std::string detail;       // a short description for logs
  int sends = 0;            // datagrams sent: 1 + retransmissions
  std::chrono::steady_clock::duration latency{};

  bool ok() const { return kind == Kind::Ok; }
};
std::string_view to_string(NgResult::Kind k);

// Told about every finished request (latency from the first send to the outcome) and every datagram that
// matched no request. Injected, so the client needs no global metrics; called on the client's strand.
class NgObserver {
 public:
  virtual ~NgObserver() = default;
  virtual void finished(core::ng::Command command, const NgResult& result) = 0;
  virtual void stray_datagram() {}
};

class NgClient {
 public:
  struct Options {
    // The whole request, every retransmission included. Kamailio's module waits 1 s per try.
    std::chrono::milliseconds timeout{3000};
    // Gaps before each retransmission, the last one repeating: sends at 0, 0.5, 1.5, 2.5 s by default.
    // Empty: no retransmission.
    std::vector<std::chrono::milliseconds> retransmit_after{std::chrono::milliseconds(500),
                                                            std::chrono::milliseconds(1000)};
    std::size_t max_in_flight = 512;
    std::string bind_address;                // local IP of the sockets; empty: any (the OS picks)
    std::chrono::seconds resolve_cache{60};  // how long a node's resolved DNS name is reused
    NgObserver* observer = nullptr;          // optional; must outlive the client
  };

  NgClient(boost::asio::any_io_executor ex, Options opts);
  ~NgClient();  // pending requests complete with Cancelled
  NgClient(const NgClient&) = delete;
  NgClient& operator=(const NgClient&) = delete;

  // Sends one command to `node` and waits for its reply. Never throws for NG or network failures (see
  // NgResult::Kind). A cancelled await (asio per-operation cancellation) completes with Cancelled and frees
  // its slot at once.
  boost::asio::awaitable<NgResult> request(core::ng::Node node, core::ng::Request req);

  // Requests waiting for a reply right now (for tests and a gauge).
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dp::io
