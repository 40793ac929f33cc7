// Kamailio-facing HTTP endpoints (bind them to an internal address) plus health checks.
#pragma once
#include "app/session/call_flow.hpp"
#include "app/observability/metrics.hpp"
#include "io/http/http_server.hpp"
#include "io/redis/redis_client.hpp"

#include <atomic>
#include <string>

namespace dp::app {

class InternalApi {
 public:
  InternalApi(CallFlow& flow, io::RedisClient& redis, std::string key_prefix)
      : flow_(flow), redis_(redis), key_prefix_(std::move(key_prefix)) {}
  boost::asio::awaitable<io::ServerResponse> handle(io::ServerRequest& req);
  void set_draining(bool d) { draining_ = d; }
  void set_health(const Health* h) { health_ = h; }  // readiness probes (metrics.hpp)

 private:
  CallFlow& flow_;
  io::RedisClient& redis_;
  std::string key_prefix_;
  std::atomic<bool> draining_{false};
  const Health* health_ = nullptr;
};

}  // namespace dp::app
