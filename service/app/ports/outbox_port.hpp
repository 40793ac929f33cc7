// Port: the per-call webhook outbox as the call session uses it (delivery/outbox is the Redis implementation;
// tests/app/fakes delivers the fake call store's jobs through the fake webhook sender). The jobs themselves
// are written by CallStorePort::commit in the same atomic step as the call's state (format: Outbox::job).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

namespace dp::app {

class OutboxPort {
 public:
  virtual ~OutboxPort() = default;

  // Starts delivering the call's outbox now, in order, unless an instance already does (called right after a
  // commit that appended jobs). Returns at once; delivery failures are retried by whoever holds the outbox.
  virtual void kick(const std::string& call_sid) = 0;

  // Waits until the call's outbox is empty or `limit` has passed, whichever comes first. May throw
  // io::RedisError.
  virtual boost::asio::awaitable<void> flush(const std::string& call_sid, std::chrono::milliseconds limit) = 0;
};

}  // namespace dp::app
