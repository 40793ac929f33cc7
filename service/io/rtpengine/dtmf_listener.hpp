// Receives rtpengine's DTMF log (`--dtmf-log-dest`: one JSON datagram per key, docs/media.md) on UDP, parses
// each datagram where it enters, and hands typed events to one consumer in arrival order.
//
// The socket is bound with SO_REUSEPORT: every dialplane instance on a host binds the same port, the kernel
// gives rtpengine's datagrams to one of them, and when that instance dies the next datagram goes to a live
// one. The key's effect is applied through the call's state in Redis, so any instance can take it.
#pragma once
#include "core/dtmf.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <functional>
#include <memory>

namespace dp::io {

class DtmfObserver {
 public:
  virtual ~DtmfObserver() = default;
  virtual void received() = 0;
  virtual void malformed() = 0;  // not a DTMF event (logged, rate-limited)
  virtual void dropped() = 0;    // the queue was full
};

class DtmfListener {
 public:
  using Handler = std::function<boost::asio::awaitable<void>(core::DtmfEvent)>;
  struct Options {
    std::size_t max_queue = 1024;  // events waiting for the handler; more are dropped and counted
    DtmfObserver* observer = nullptr;
  };

  // Binds at once (throws boost::system::system_error when the address cannot be bound).
  DtmfListener(boost::asio::any_io_executor ex, const boost::asio::ip::udp::endpoint& at, Handler handler,
               Options opts);
  ~DtmfListener();
  DtmfListener(const DtmfListener&) = delete;
  DtmfListener& operator=(const DtmfListener&) = delete;

  // Receives and delivers until cancelled. The handler's exceptions are logged, never end the loop.
  boost::asio::awaitable<void> run();

  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dp::io
