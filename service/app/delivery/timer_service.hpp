// Fires the calls' timers (ring timeouts, timeLimits) kept in Redis (`<prefix>timers`). Every instance
// polls; a due timer is claimed with a lease, so exactly one live instance fires it, and one claimed by an
// instance that died fires again when the lease runs out. Firing must be idempotent.
#pragma once
#include "app/delivery/lease_queue.hpp"
#include "app/observability/metrics.hpp"

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

  TimerService(boost::asio::any_io_executor ex, io::RedisClient& redis, const std::string& prefix, Metrics& metrics,
               Fire fire, std::chrono::milliseconds poll);
  boost::asio::awaitable<void> run();
  void stop() { stopped_ = true; }
  int in_flight() const { return in_flight_; }

 private:
  boost::asio::awaitable<void> fire_one(std::string id, long long due_ms, long long leased_until);

  boost::asio::any_io_executor ex_;
  LeaseQueue queue_;
  Metrics& metrics_;
  Fire fire_;
  std::chrono::milliseconds poll_;
  bool stopped_ = false;
  int in_flight_ = 0;
  static constexpr std::chrono::milliseconds kLease{3000};
};

}  // namespace dp::app
