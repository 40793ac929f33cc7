#include "app/observability/health.hpp"

#include "app/config/config.hpp"
#include "core/log.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;

struct Health::Impl {
  io::RedisClient& redis;
  io::KamailioRpc& rpc;
  HealthStats& metrics;
  RedisStats& redis_stats;
  Options opts;
  std::atomic<bool> redis_up{false};
  std::atomic<bool> kamailio_up{false};
  std::atomic<bool> probed{false};
  std::atomic<bool> draining{false};
  std::chrono::steady_clock::time_point next_count{};

  Impl(io::RedisClient& r, io::KamailioRpc& k, HealthStats& m, RedisStats& rs, Options o)
      : redis(r), rpc(k), metrics(m), redis_stats(rs), opts(std::move(o)) {}
};

namespace {

asio::awaitable<bool> ping_redis(io::RedisClient& redis, RedisStats& stats) {
  if (!redis.connected()) co_return false;
  bool ok = false;
  try {
    std::vector<std::string> args{"PING"};
    auto r = co_await timed_redis(redis, stats, std::move(args), "ping");
    ok = r.type == io::RedisReply::Type::Status && r.str == "PONG";
  } catch (const std::exception&) {
    ok = false;
  }
  co_return ok;
}

asio::awaitable<bool> ping_kamailio(io::KamailioRpc& rpc, HealthStats& metrics, const std::string& url,
                                    std::chrono::milliseconds timeout) {
  auto started = std::chrono::steady_clock::now();
  bool ok = false;
  try {
    json::array params;
    auto v = co_await rpc.call(url, "core.version", std::move(params), timeout);
    ok = true;
    (void)v;
  } catch (const std::exception&) {
    ok = false;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics.rpc("core.version", ok, secs);
  co_return ok;
}

// Counts the calls' keys with SCAN (bounded work per round).
asio::awaitable<std::optional<long long>> count_calls(io::RedisClient& redis, RedisStats& stats, const Keys& keys) {
  long long n = 0;
  std::string cursor = "0";
  for (int round = 0; round < 1000; ++round) {
    std::vector<std::string> args{"SCAN", cursor, "MATCH", keys.calls_pattern(), "COUNT", "1000"};
    auto r = co_await timed_redis(redis, stats, std::move(args), "scan");
    if (r.type != io::RedisReply::Type::Array || r.elements.size() != 2) co_return std::nullopt;
    cursor = r.elements[0].str;
    n += static_cast<long long>(r.elements[1].elements.size());
    if (cursor == "0") co_return n;
  }
  co_return std::nullopt;
}

// True when any of Kamailio's RPC URLs answers (or none is configured).
asio::awaitable<bool> probe_kamailio(Health::Impl& h) {
  if (h.opts.kamailio_rpc_urls.empty()) co_return true;
  bool up = false;
  for (const auto& url : h.opts.kamailio_rpc_urls) {
    up = co_await ping_kamailio(h.rpc, h.metrics, url, h.opts.rpc_timeout);
    if (up) break;
  }
  h.metrics.dependency_up("kamailio", up);
  co_return up;
}

// Logs a dependency's state on the first probe and whenever it changes.
void log_transition(std::string_view dependency, bool first, bool was_up, bool up) {
  if (!first && was_up == up) return;
  if (up) log::info("dependency_up", {{"dependency", std::string(dependency)}});
  else log::warn("dependency_down", {{"dependency", std::string(dependency)}});
}

// The active-calls gauge (a SCAN, so at most every active_calls_interval) and the webhook queue gauge.
asio::awaitable<void> refresh_gauges(Health::Impl& h, bool redis_up) {
  auto now = std::chrono::steady_clock::now();
  if (redis_up && now >= h.next_count) {
    h.next_count = now + h.opts.active_calls_interval;
    try {
      auto n = co_await count_calls(h.redis, h.redis_stats, h.opts.keys);
      if (n) h.metrics.active_calls(static_cast<double>(*n));
    } catch (const std::exception& e) {
      log::debug("active_calls_count_failed", {{"error", e.what()}});
    }
  }
  if (h.opts.webhook_queue) h.metrics.webhook_queue(static_cast<double>(h.opts.webhook_queue()));
}

asio::awaitable<void> probe_loop(std::shared_ptr<Health::Impl> self) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool first = true;
  bool was_redis = false, was_kam = false;
  for (;;) {
    bool redis_up = co_await ping_redis(self->redis, self->redis_stats);
    bool kam_up = co_await probe_kamailio(*self);
    self->redis_up = redis_up;
    self->kamailio_up = kam_up;
    self->probed = true;
    self->metrics.dependency_up("redis", redis_up);
    self->metrics.ready(redis_up && kam_up && !self->draining, self->draining);
    log_transition("redis", first, was_redis, redis_up);
    if (!self->opts.kamailio_rpc_urls.empty()) log_transition("kamailio", first, was_kam, kam_up);
    was_redis = redis_up;
    was_kam = kam_up;
    first = false;
    co_await refresh_gauges(*self, redis_up);
    timer.expires_after(self->opts.probe_interval);
    co_await timer.async_wait(asio::use_awaitable);  // cancellation ends the loop here
  }
}

}  // namespace

Health::Health(io::RedisClient& redis, io::KamailioRpc& rpc, HealthStats& stats, RedisStats& redis_stats, Options opts)
    : impl_(std::make_shared<Impl>(redis, rpc, stats, redis_stats, std::move(opts))) {}

Health::~Health() = default;

asio::awaitable<void> Health::run() { return probe_loop(impl_); }

bool Health::redis_ok() const { return impl_->redis.connected() && impl_->redis_up; }
bool Health::kamailio_ok() const { return impl_->opts.kamailio_rpc_urls.empty() || impl_->kamailio_up; }

std::pair<bool, std::string> Health::readiness(bool draining) const {
  bool redis = redis_ok();
  bool kam = kamailio_ok();
  bool ready = redis && kam && !draining;
  impl_->draining = draining;
  impl_->metrics.ready(ready, draining);
  json::object body{{"ready", ready}, {"redis", redis}, {"draining", draining}};
  if (impl_->opts.kamailio_rpc_urls.empty())
    body["kamailio"] = "unchecked";
  else
    body["kamailio"] = kam;
  return {ready, json::serialize(body)};
}

Health::Options health_options(const Config& cfg, std::function<std::size_t()> webhook_queue) {
  Health::Options o;
  std::size_t start = 0;
  const auto& list = cfg.kamailio_rpc_url;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    auto url = list.substr(start, comma - start);
    if (!url.empty()) o.kamailio_rpc_urls.push_back(url);
    start = comma + 1;
  }
  o.rpc_timeout = std::chrono::milliseconds(cfg.rpc_timeout_ms);
  o.keys = Keys(cfg.redis_prefix);
  o.webhook_queue = std::move(webhook_queue);
  return o;
}

}  // namespace dp::app
