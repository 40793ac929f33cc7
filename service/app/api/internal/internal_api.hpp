// Kamailio-facing HTTP endpoints (bind them to an internal address) plus health checks.
#pragma once
#include "app/observability/metrics.hpp"
#include "app/observability/health.hpp"
#include "app/ports/call_store_port.hpp"
#include "app/ports/provisioning_port.hpp"
#include "app/session/call_flow.hpp"
#include "io/http/http_server.hpp"
#include "io/redis/redis_client.hpp"

#include <atomic>
#include <string>

namespace dp::app {

class InternalApi {
 public:
  InternalApi(CallFlow& flow, io::RedisClient& redis, ProvisioningPort& prov, CallStorePort& calls,
              CallStats& metrics)
      : flow_(flow), redis_(redis), prov_(prov), calls_(calls), metrics_(metrics) {}
  boost::asio::awaitable<io::ServerResponse> handle(io::ServerRequest& req);
  void set_draining(bool d) { draining_ = d; }
  void set_health(const Health* h) { health_ = h; }  // readiness probes (health.hpp)

 private:
  CallFlow& flow_;
  io::RedisClient& redis_;
  ProvisioningPort& prov_;
  CallStorePort& calls_;
  CallStats& metrics_;
  std::atomic<bool> draining_{false};
  const Health* health_ = nullptr;
};

}  // namespace dp::app
