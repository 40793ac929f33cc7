// Webhook outbox in Redis: a transition's webhooks are appended to the call's outbox list in the same
// atomic commit as its state, then delivered in order by whichever instance holds the call's lease in
// `outbox-due`. The commit takes the lease when it is free, so the committing instance sends the jobs it holds
// in memory at once and acknowledges them with one command, which also renews the lease and hands back any
// jobs queued meanwhile. If that instance dies mid-way, the lease runs out and another instance carries on from
// the first unacknowledged webhook: at least once, each with a stable Idempotency-Key.
#pragma once
#include "app/delivery/lease_queue.hpp"
#include "app/observability/metrics.hpp"
#include "app/ports/outbox_port.hpp"
#include "app/ports/webhook_sender_port.hpp"
#include "app/store/keys.hpp"
#include "core/dial_machine.hpp"
#include "io/redis/redis_client.hpp"
#include "io/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace dp::app {

// One stored webhook job, as Outbox::job writes it.
struct OutboxJob {
  std::string id;  // the Idempotency-Key
  std::string account_sid;
  std::string kind;  // call_status | action
  core::Hook hook;
  boost::json::object payload;
};

class Outbox final : public OutboxPort {
 public:
  // Each call's delivery runs in its own task of `tasks`.
  Outbox(io::TaskGroup& tasks, io::RedisClient& redis, WebhookSenderPort& hooks, Keys keys, RedisStats& stats);

  // The job stored for one notification (JSON string); `id` becomes the Idempotency-Key.
  static std::string job(const std::string& id, const std::string& account_sid, const core::Notification& n);
  // The job back from its string; nullopt when it does not parse (such a job is dropped, not retried).
  static std::optional<OutboxJob> parse_job(const std::string& raw);

  void queued(const std::string& call_sid, std::vector<std::string> jobs, CallStorePort::OutboxLease lease) override;
  // Picks up outboxes whose lease ran out (their instance died) until cancelled.
  boost::asio::awaitable<void> run(std::chrono::milliseconds poll);
  // Waits (at most `limit`) until the call's outbox is empty.
  boost::asio::awaitable<void> flush(const std::string& call_sid, std::chrono::milliseconds limit) override;
  std::size_t active() const { return draining_.size(); }

 private:
  // Delivers the call's outbox in order while this instance holds its lease. `jobs`: its head as known in
  // memory (empty: read from the store).
  boost::asio::awaitable<void> drain(std::string call_sid, std::vector<std::string> jobs);
  // Removes the first `n` jobs (when the head is still `first`), renews the lease, and returns the jobs now at
  // the head (none: the outbox is empty and the lease is dropped).
  boost::asio::awaitable<std::vector<std::string>> ack(const std::string& call_sid, const std::string& first,
                                                       std::size_t n);

  void spawn_drain(boost::asio::awaitable<void> task, const std::string& call_sid);

  io::TaskGroup& tasks_;
  io::RedisClient& redis_;
  WebhookSenderPort& hooks_;
  Keys keys_;
  RedisStats& stats_;
  LeaseQueue due_;
  std::unordered_set<std::string> draining_;  // calls this instance is delivering right now
  static constexpr std::chrono::milliseconds kLease{kLeaseMs};
  static constexpr std::size_t kReadAhead = 32;  // jobs read back per acknowledgement
};

}  // namespace dp::app
