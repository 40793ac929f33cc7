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

asio::awaitable<void> probe_loop(std::shared_ptr<Health::Impl> self) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool first = true;
  bool was_redis = false, was_kam = false;
  for (;;) {
    bool redis_up = co_await ping_redis(self->redis, self->redis_stats);
    bool kam_up = true;
    if (!self->opts.kamailio_rpc_urls.empty()) {
      kam_up = false;
      for (const auto& url : self->opts.kamailio_rpc_urls) {
        bool ok = co_await ping_kamailio(self->rpc, self->metrics, url, self->opts.rpc_timeout);
        if (ok) {
          kam_up = true;
          break;
        }
      }
      self->metrics.dependency_up("kamailio", kam_up);
    }
    self->redis_up = redis_up;
    self->kamailio_up = kam_up;
    self->probed = true;
    self->metrics.dependency_up("redis", redis_up);
    self->metrics.ready(redis_up && kam_up && !self->draining, self->draining);
    if (first || redis_up != was_redis) {
      if (redis_up) log::info("dependency_up", {{"dependency", "redis"}});
      else log::warn("dependency_down", {{"dependency", "redis"}});
    }
    if (!self->opts.kamailio_rpc_urls.empty() && (first || kam_up != was_kam)) {
      if (kam_up) log::info("dependency_up", {{"dependency", "kamailio"}});
      else log::warn("dependency_down", {{"dependency", "kamailio"}});
    }
    was_redis = redis_up;
    was_kam = kam_up;
    first = false;

    auto now = std::chrono::steady_clock::now();
    if (redis_up && now >= self->next_count) {
      self->next_count = now + self->opts.active_calls_interval;
      try {
        auto n = co_await count_calls(self->redis, self->redis_stats, self->opts.keys);
        if (n) self->metrics.active_calls(static_cast<double>(*n));
      } catch (const std::exception& e) {
        log::debug("active_calls_count_failed", {{"error", e.what()}});
      }
    }
    if (self->opts.webhook_queue) self->metrics.webhook_queue(static_cast<double>(self->opts.webhook_queue()));

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
