// Readiness: background probes behind /readyz and the gauges that need polling: Redis PING, Kamailio JSON-RPC
// (`core.version`), the number of calls in Redis, the webhook queue. Results are cached, so /readyz is cheap.
#pragma once
#include "app/observability/metrics.hpp"
#include "app/store/keys.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dp::app {

struct Config;

class Health {
 public:
  struct Options {
    std::vector<std::string> kamailio_rpc_urls;  // empty = Kamailio not checked
    std::chrono::milliseconds probe_interval{1000};
    std::chrono::milliseconds rpc_timeout{1000};
    std::chrono::milliseconds active_calls_interval{10000};
    Keys keys;                                   // the calls counted with SCAN
    std::function<std::size_t()> webhook_queue;  // optional
  };
  // Records probe results into `stats`, and its PING/SCAN commands into `redis_stats`.
  Health(io::RedisClient& redis, io::KamailioRpc& rpc, HealthStats& stats, RedisStats& redis_stats, Options opts);
  ~Health();
  // Probes every probe_interval until cancelled.
  boost::asio::awaitable<void> run();

  bool redis_ok() const;
  bool kamailio_ok() const;  // true when not checked
  // {ready, JSON body for /readyz}. Ready = Redis reachable, a Kamailio JSON-RPC reachable, not draining.
  std::pair<bool, std::string> readiness(bool draining) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Health options from the configuration (--kamailio-rpc-url, --rpc-timeout-ms, --redis-prefix).
Health::Options health_options(const Config& cfg, std::function<std::size_t()> webhook_queue);

}  // namespace dp::app
