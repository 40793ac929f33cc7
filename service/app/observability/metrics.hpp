// Prometheus metrics and readiness probes. No per-call labels: every label value comes from a small fixed
// set (kinds, statuses, methods) or from provisioning (carrier names, capped). See docs/operate.md.
#pragma once
#include "core/call_model.hpp"
#include "io/http/http_server.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io/redis/redis_client.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace dp::app {

struct Config;

class Metrics {
 public:
  Metrics();
  ~Metrics();
  // The /metrics page (Prometheus text format). main serves it on its own HttpServer listener rather than
  // prometheus-cpp's civetweb exposer: civetweb gives each connection a thread, so a few thousand slow
  // connections lock out every scrape, while the HttpServer's cap and header deadline shed them.
  io::ServerResponse scrape() const;
  // Answers GET /metrics (404 elsewhere); a handler for io::HttpServer.
  boost::asio::awaitable<io::ServerResponse> handle(io::ServerRequest& req) const;

  // Kamailio asked (kind: invite|dial_failed) and dialplane answered with `action` (fork|reject).
  void decision(std::string_view kind, std::string_view action, double seconds);
  // One webhook request (kind: call_hook|call_status|action). http_status 0 = no HTTP response.
  // `ok` false (non-2xx, transport error, unparseable JSON) also counts a failure.
  void webhook(std::string_view kind, int http_status, double seconds, bool ok);
  void webhook(std::string_view kind, int http_status, double seconds);  // ok = 200/202/204
  void event(std::string_view ev, bool applied);
  void leg(std::string_view type, std::string_view status);
  // A leg reached a final status (child call_status payload): by target type, plus by carrier for phone legs.
  void leg(const core::CallState& call, const boost::json::object& child_payload);
  void dial_ended(std::string_view status);
  void call_ended(std::string_view status);
  void rpc(std::string_view method, bool ok);
  void rpc(std::string_view method, bool ok, double seconds);
  // A request (invite, dial-failed, event batch) failed because of Redis.
  void redis_error();
  // One Redis command of the call store (op: call_load|call_lookup|call_save|call_remove|ping|scan).
  void redis_command(std::string_view op, bool ok, double seconds);
  void active_calls(double n);
  void webhook_queue(double n);
  // Timers (ring timeouts, timeLimits) pending in Redis, shared by every instance.
  void pending_timers(double n);
  // A timer fired `lateness_s` after it was due (kind: ring|limit).
  void timer_fired(std::string_view kind, double lateness_s);
  // Readiness inputs, exported as dialplane_dependency_up{dependency} and dialplane_ready.
  void dependency_up(std::string_view dependency, bool up);
  void ready(bool ready, bool draining);
  // An HTTP listener's connection events (listener: internal|api|metrics): open connections, accept failures,
  // connections closed by the connection cap, failed sessions.
  void http_server(std::string_view listener, io::ServerEvent ev);
  // An exception that escaped an Asio handler or coroutine and was contained (where: io_context|http_session).
  void uncaught_exception(std::string_view where);

  std::shared_ptr<prometheus::Registry> registry() const;

  // The process's Metrics (set by install()); nullptr in tests that construct none.
  static Metrics* current();
  void install();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs one Redis command and records its latency and result under `op` in Metrics::current().
// Rethrows the command's RedisError.
boost::asio::awaitable<io::RedisReply> timed_redis(io::RedisClient& redis, std::vector<std::string> args,
                                                   std::string_view op);

// Background probes behind /readyz and the gauges that need polling: Redis PING, Kamailio JSON-RPC
// (`core.version`), the number of calls in Redis, the webhook queue. Results are cached, so /readyz is cheap.
class Health {
 public:
  struct Options {
    std::vector<std::string> kamailio_rpc_urls;  // empty = Kamailio not checked
    std::chrono::milliseconds probe_interval{1000};
    std::chrono::milliseconds rpc_timeout{1000};
    std::chrono::milliseconds active_calls_interval{10000};
    std::string redis_prefix = "dp:";
    std::function<std::size_t()> webhook_queue;  // optional
  };
  Health(boost::asio::any_io_executor ex, io::RedisClient& redis, io::KamailioRpc& rpc, Metrics& metrics,
         Options opts);
  ~Health();
  void start();
  void stop();

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
