// Port: the per-call webhook outbox as the call session uses it (delivery/outbox is the Redis implementation;
// tests/app/fakes delivers the fake call store's jobs through the fake webhook sender). The jobs themselves
// are written by CallStorePort::commit in the same atomic step as the call's state (format: Outbox::job).
#pragma once
#include "app/ports/call_store_port.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace dp::app {

class OutboxPort {
 public:
  // How long a delivering instance holds a call's outbox before another may take it over (> one webhook's
  // timeout). A commit that appends jobs takes the lease when it is free (CallStorePort::commit).
  static constexpr long long kLeaseMs = 10000;

  virtual ~OutboxPort() = default;

  // Called right after a commit appended `jobs` to the call's outbox, with what the commit found
  // (CallStorePort::OutboxLease): Fresh: this instance took the lease and `jobs` are the whole outbox, delivered
  // from memory; Backlog: it took the lease with older jobs in front, read back from the store; None: the
  // holder of the lease delivers them after its current ones. Returns at once; failures are retried by whoever
  // holds the outbox.
  virtual void queued(const std::string& call_sid, std::vector<std::string> jobs,
                      CallStorePort::OutboxLease lease) = 0;

  // Waits until the call's outbox is empty or `limit` has passed, whichever comes first. May throw
  // io::RedisError.
  virtual boost::asio::awaitable<void> flush(const std::string& call_sid, std::chrono::milliseconds limit) = 0;
};

}  // namespace dp::app
