// Fires the calls' timers (ring timeouts, timeLimits) kept in Redis (Keys::timers). Every instance
// polls; a due timer is claimed with a lease, so exactly one live instance fires it, and one claimed by an
// instance that died fires again when the lease runs out. Firing must be idempotent.
#pragma once
#include "app/delivery/lease_queue.hpp"
#include "app/observability/metrics.hpp"
#include "app/store/keys.hpp"
#include "io/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace dp::app {

class TimerService {
 public:
  // Returns a new due time (epoch ms) to try again later, or nullopt when the timer is done.
  using Fire = std::function<boost::asio::awaitable<std::optional<long long>>(const std::string& id)>;

  // Each claimed timer fires in its own task of `tasks`.
  TimerService(io::TaskGroup& tasks, io::RedisClient& redis, const Keys& keys, TimerStats& metrics, Fire fire,
               std::chrono::milliseconds poll);
  // Polls until cancelled; a claim in progress when cancelled still fires what it claimed.
  boost::asio::awaitable<void> run();

 private:
  boost::asio::awaitable<void> fire_one(std::string id, long long due_ms, long long leased_until);

  io::TaskGroup& tasks_;
  LeaseQueue queue_;
  TimerStats& metrics_;
  Fire fire_;
  std::chrono::milliseconds poll_;
  static constexpr std::chrono::milliseconds kLease{3000};
};

}  // namespace dp::app
