#include "app/observability/metrics.hpp"

#include <algorithm>

#include "app/config/config.hpp"
#include "core/dial_plan.hpp"
#include "core/log.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <ctime>
#include <mutex>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <set>

#ifndef DIALPLANE_VERSION
#define DIALPLANE_VERSION "0.1.0"
#endif

namespace dp::app {

namespace asio = boost::asio;
namespace json = boost::json;
using Buckets = prometheus::Histogram::BucketBoundaries;

namespace {
// Kamailio waits for a decision at most DECISION_TIMEOUT_MS (2 s by default): fine resolution below it.
const Buckets kDecisionBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5};
// Customer web apps: tens of ms to the webhook timeout (4 s by default).
const Buckets kWebhookBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 10};
// Redis on the same LAN: sub-millisecond normally; the client times out after 1 s.
const Buckets kRedisBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
// Kamailio JSON-RPC: ms normally; rpc timeout 1 s.
const Buckets kRpcBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2};

constexpr std::size_t kMaxCarrierLabels = 50;
std::atomic<Metrics*> g_current{nullptr};

std::string status_class(int http_status) {
  if (http_status == 0) return "error";
  return std::to_string(http_status / 100) + "xx";
}

std::string status_code(int http_status) {
  if (http_status == 0) return "error";
  if (http_status < 100 || http_status > 599) return "other";
  return std::to_string(http_status);
}

std::string jstr(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Label values come from code-defined sets; anything unexpected collapses to "other".
std::string bounded(std::string_view v) {
  if (v.empty()) return "unknown";
  if (v.size() > 40) return "other";
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':')) return "other";
  return std::string(v);
}
}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> reg = std::make_shared<prometheus::Registry>();
  std::mutex carriers_mu;
  std::set<std::string> carriers;

  prometheus::Family<prometheus::Histogram>& decisions =
      prometheus::BuildHistogram().Name("dialplane_decision_seconds")
          .Help("Time from Kamailio's question (invite, dial_failed) to dialplane's answer, by decision action")
          .Register(*reg);
  prometheus::Family<prometheus::Histogram>& webhooks =
      prometheus::BuildHistogram().Name("dialplane_webhook_seconds")
          .Help("Webhook request latency by hook kind").Register(*reg);
  prometheus::Family<prometheus::Counter>& webhook_total =
      prometheus::BuildCounter().Name("dialplane_webhook_requests_total")
          .Help("Webhook requests by hook kind and HTTP status class (error = no response)").Register(*reg);
  prometheus::Family<prometheus::Counter>& webhook_failures =
      prometheus::BuildCounter().Name("dialplane_webhook_failures_total")
          .Help("Failed webhook requests (non-2xx, no response, bad JSON) by hook kind and HTTP status")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& events =
      prometheus::BuildCounter().Name("dialplane_kamailio_events_total")
          .Help("Events received from Kamailio, by event and whether they changed a call").Register(*reg);
  prometheus::Family<prometheus::Counter>& legs =
      prometheus::BuildCounter().Name("dialplane_dial_legs_total")
          .Help("Dial legs by target type and final status").Register(*reg);
  prometheus::Family<prometheus::Counter>& carrier_legs =
      prometheus::BuildCounter().Name("dialplane_carrier_legs_total")
          .Help("Phone-target dial legs by carrier (the dial's trunk, default = account default carrier, "
                "none = no carrier resolved) and final status")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& dials =
      prometheus::BuildCounter().Name("dialplane_dials_total").Help("Dials by outcome (dial_call_status)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& calls =
      prometheus::BuildCounter().Name("dialplane_calls_total").Help("Calls by final status").Register(*reg);
  prometheus::Family<prometheus::Counter>& rpcs =
      prometheus::BuildCounter().Name("dialplane_kamailio_rpc_total")
          .Help("Kamailio JSON-RPC calls by method and result").Register(*reg);
  prometheus::Family<prometheus::Histogram>& rpc_seconds =
      prometheus::BuildHistogram().Name("dialplane_kamailio_rpc_seconds")
          .Help("Kamailio JSON-RPC latency by method").Register(*reg);
  prometheus::Family<prometheus::Counter>& redis_errors =
      prometheus::BuildCounter().Name("dialplane_redis_errors_total")
          .Help("Requests (invite, dial-failed, event batch) that failed because of Redis").Register(*reg);
  prometheus::Family<prometheus::Histogram>& redis_seconds =
      prometheus::BuildHistogram().Name("dialplane_redis_command_seconds")
          .Help("Redis command latency by operation and result").Register(*reg);
  prometheus::Family<prometheus::Counter>& redis_cmd_errors =
      prometheus::BuildCounter().Name("dialplane_redis_command_errors_total")
          .Help("Failed Redis commands (error reply, timeout, no connection) by operation").Register(*reg);
  prometheus::Family<prometheus::Gauge>& active =
      prometheus::BuildGauge().Name("dialplane_active_calls")
          .Help("Calls with state in Redis (all instances; polled)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& queue =
      prometheus::BuildGauge().Name("dialplane_webhook_queue")
          .Help("Calls whose webhook outbox this instance is delivering").Register(*reg);
  prometheus::Family<prometheus::Histogram>& timer_lateness =
      prometheus::BuildHistogram().Name("dialplane_timer_lateness_seconds")
          .Help("How late a Redis timer fired after it was due").Register(*reg);
  prometheus::Family<prometheus::Gauge>& timers =
      prometheus::BuildGauge().Name("dialplane_pending_timers")
          .Help("Ring-timeout and timeLimit timers pending in Redis (shared by all instances)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& dep_up =
      prometheus::BuildGauge().Name("dialplane_dependency_up")
          .Help("1 when the dependency answered the last probe (redis, kamailio)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& ready =
      prometheus::BuildGauge().Name("dialplane_ready").Help("1 when /readyz answers 200").Register(*reg);
  prometheus::Family<prometheus::Gauge>& draining =
      prometheus::BuildGauge().Name("dialplane_draining").Help("1 while the instance is shutting down")
          .Register(*reg);
  prometheus::Family<prometheus::Gauge>& build =
      prometheus::BuildGauge().Name("dialplane_build_info").Help("Build information (always 1)").Register(*reg);
  prometheus::Family<prometheus::Gauge>& start_time =
      prometheus::BuildGauge().Name("dialplane_start_time_seconds").Help("Unix time the process started")
          .Register(*reg);
  prometheus::Family<prometheus::Gauge>& http_connections =
      prometheus::BuildGauge().Name("dialplane_http_connections")
          .Help("Open connections of an HTTP listener (internal, api, metrics)").Register(*reg);
  prometheus::Family<prometheus::Counter>& http_accept_errors =
      prometheus::BuildCounter().Name("dialplane_http_accept_errors_total")
          .Help("Failed accept() calls of an HTTP listener (EMFILE, ENFILE, ENOBUFS…); the listener backs off")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& http_shed =
      prometheus::BuildCounter().Name("dialplane_http_connections_shed_total")
          .Help("Connections closed by the connection cap: evicted = the oldest one still reading a request, "
                "refused = the new one (every connection busy)")
          .Register(*reg);
  prometheus::Family<prometheus::Counter>& uncaught =
      prometheus::BuildCounter().Name("dialplane_uncaught_exceptions_total")
          .Help("Exceptions that escaped an Asio handler (io_context) or an HTTP connection (http_session) "
                "and were contained instead of ending the process")
          .Register(*reg);
  prometheus::Gauge& timers_gauge = timers.Add({});
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  impl_->build.Add({{"version", DIALPLANE_VERSION}, {"compiler", "gcc " __VERSION__}}).Set(1);
  impl_->start_time.Add({}).Set(static_cast<double>(std::time(nullptr)));
  impl_->active.Add({}).Set(0);
  impl_->queue.Add({}).Set(0);
  impl_->ready.Add({}).Set(0);
  impl_->draining.Add({}).Set(0);
  impl_->redis_errors.Add({});
  // Zero series for the outcomes dashboards and alerts divide by, so rate() works from the first call.
  for (const char* k : {"call_hook", "call_status", "action"}) {
    impl_->webhooks.Add({{"kind", k}}, kWebhookBuckets);
    impl_->webhook_total.Add({{"kind", k}, {"status", "2xx"}});
    impl_->webhook_failures.Add({{"kind", k}, {"status", "error"}});
  }
  for (const char* op : {"call_load", "call_lookup", "call_save", "call_remove", "ping", "scan"})
    impl_->redis_cmd_errors.Add({{"op", op}});
  for (const char* k : {"invite", "dial_failed"})
    for (const char* a : {"fork", "reject"})
      impl_->decisions.Add({{"kind", k}, {"action", a}}, kDecisionBuckets);
  for (const char* l : {"internal", "api", "metrics"}) {
    impl_->http_connections.Add({{"listener", l}});
    impl_->http_accept_errors.Add({{"listener", l}});
    for (const char* a : {"evicted", "refused"}) impl_->http_shed.Add({{"listener", l}, {"action", a}});
  }
  for (const char* w : {"io_context", "http_session"}) impl_->uncaught.Add({{"where", w}});
}

Metrics::~Metrics() {
  Metrics* self = this;
  g_current.compare_exchange_strong(self, nullptr);
}

Metrics* Metrics::current() { return g_current.load(); }
void Metrics::install() { g_current.store(this); }

io::ServerResponse Metrics::scrape() const {
  io::ServerResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = prometheus::TextSerializer().Serialize(impl_->reg->Collect());
  return r;
}

asio::awaitable<io::ServerResponse> Metrics::handle(io::ServerRequest& req) const {
  if (req.path != "/metrics") co_return io::ServerResponse::error(404, "not found");
  if (req.method != "GET") co_return io::ServerResponse::error(405, "use GET");
  co_return scrape();
}

void Metrics::decision(std::string_view kind, std::string_view action, double seconds) {
  impl_->decisions.Add({{"kind", bounded(kind)}, {"action", bounded(action)}}, kDecisionBuckets).Observe(seconds);
}

void Metrics::webhook(std::string_view kind, int http_status, double seconds, bool ok) {
  auto k = bounded(kind);
  impl_->webhooks.Add({{"kind", k}}, kWebhookBuckets).Observe(seconds);
  impl_->webhook_total.Add({{"kind", k}, {"status", status_class(http_status)}}).Increment();
  if (!ok) impl_->webhook_failures.Add({{"kind", k}, {"status", status_code(http_status)}}).Increment();
}

void Metrics::webhook(std::string_view kind, int http_status, double seconds) {
  webhook(kind, http_status, seconds, http_status == 200 || http_status == 202 || http_status == 204);
}

void Metrics::event(std::string_view ev, bool applied) {
  impl_->events.Add({{"event", bounded(ev)}, {"applied", applied ? "true" : "false"}}).Increment();
}

void Metrics::leg(std::string_view type, std::string_view status) {
  impl_->legs.Add({{"type", bounded(type)}, {"status", bounded(status)}}).Increment();
}

namespace {

// The `trunk` of the dial target behind leg `index`, "default" when it names none. Legs index the
// de-duplicated target list, exactly as the planner built it.
std::string trunk_of_leg(const core::Dial& dial, int index) {
  if (!dial.verb.is_object()) return "default";
  auto* t = dial.verb.get_object().if_contains("target");
  if (!t || !t->is_array()) return "default";
  auto targets = core::unique_targets(t->get_array());
  if (index < 0 || static_cast<std::size_t>(index) >= targets.size() || !targets[index].is_object())
    return "default";
  auto trunk = jstr(targets[index].get_object(), "trunk");
  return trunk.empty() ? "default" : bounded(trunk);
}

}  // namespace

void Metrics::leg(const core::CallState& call, const json::object& payload) {
  auto type = jstr(payload, "target_type");
  auto status = jstr(payload, "call_status");
  leg(type, status);
  if (type != "phone" || !call.dial) return;
  auto sid = jstr(payload, "call_sid");
  const core::Leg* l = nullptr;
  for (const auto& x : call.dial->legs)
    if (x.call_sid == sid) l = &x;
  if (!l) return;
  std::string carrier = "none";
  if (l->branches > 0) {
    carrier = trunk_of_leg(*call.dial, l->index);
    std::lock_guard lk(impl_->carriers_mu);
    if (!impl_->carriers.count(carrier)) {
      if (impl_->carriers.size() >= kMaxCarrierLabels) carrier = "other";
      else impl_->carriers.insert(carrier);
    }
  }
  impl_->carrier_legs.Add({{"carrier", carrier}, {"status", bounded(status)}}).Increment();
}

void Metrics::dial_ended(std::string_view status) { impl_->dials.Add({{"status", bounded(status)}}).Increment(); }

void Metrics::call_ended(std::string_view status) { impl_->calls.Add({{"status", bounded(status)}}).Increment(); }

void Metrics::rpc(std::string_view method, bool ok) {
  impl_->rpcs.Add({{"method", bounded(method)}, {"result", ok ? "ok" : "error"}}).Increment();
}

void Metrics::rpc(std::string_view method, bool ok, double seconds) {
  rpc(method, ok);
  impl_->rpc_seconds.Add({{"method", bounded(method)}}, kRpcBuckets).Observe(seconds);
}

void Metrics::redis_error() { impl_->redis_errors.Add({}).Increment(); }

void Metrics::redis_command(std::string_view op, bool ok, double seconds) {
  auto o = bounded(op);
  impl_->redis_seconds.Add({{"op", o}, {"result", ok ? "ok" : "error"}}, kRedisBuckets).Observe(seconds);
  if (!ok) impl_->redis_cmd_errors.Add({{"op", o}}).Increment();
}

void Metrics::active_calls(double n) { impl_->active.Add({}).Set(n); }
void Metrics::webhook_queue(double n) { impl_->queue.Add({}).Set(n); }
void Metrics::pending_timers(double n) { impl_->timers_gauge.Set(n); }

void Metrics::timer_fired(std::string_view kind, double lateness_s) {
  static const prometheus::Histogram::BucketBoundaries kLateness{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3, 10};
  impl_->timer_lateness.Add({{"kind", std::string(kind)}}, kLateness).Observe(std::max(0.0, lateness_s));
}

void Metrics::dependency_up(std::string_view dependency, bool up) {
  impl_->dep_up.Add({{"dependency", bounded(dependency)}}).Set(up ? 1 : 0);
}

void Metrics::ready(bool ready, bool draining) {
  impl_->ready.Add({}).Set(ready ? 1 : 0);
  impl_->draining.Add({}).Set(draining ? 1 : 0);
}

void Metrics::http_server(std::string_view listener, io::ServerEvent ev) {
  const std::string l = bounded(listener);
  switch (ev) {
    case io::ServerEvent::ConnectionOpened: impl_->http_connections.Add({{"listener", l}}).Increment(); break;
    case io::ServerEvent::ConnectionClosed: impl_->http_connections.Add({{"listener", l}}).Decrement(); break;
    case io::ServerEvent::AcceptError: impl_->http_accept_errors.Add({{"listener", l}}).Increment(); break;
    case io::ServerEvent::ConnectionEvicted:
      impl_->http_shed.Add({{"listener", l}, {"action", "evicted"}}).Increment();
      break;
    case io::ServerEvent::ConnectionRefused:
      impl_->http_shed.Add({{"listener", l}, {"action", "refused"}}).Increment();
      break;
    case io::ServerEvent::SessionFailed: uncaught_exception("http_session"); break;
  }
}

void Metrics::uncaught_exception(std::string_view where) { impl_->uncaught.Add({{"where", bounded(where)}}).Increment(); }

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return impl_->reg; }

// ---------------------------------------------------------------------------------------------------------
asio::awaitable<io::RedisReply> timed_redis(io::RedisClient& redis, std::vector<std::string> args,
                                            std::string_view op) {
  auto started = std::chrono::steady_clock::now();
  std::string op_name(op);  // the caller's string may not outlive the suspension
  bool ok = false;
  io::RedisReply reply;
  std::exception_ptr failure;
  try {
    reply = co_await redis.command(std::move(args));
    ok = reply.type != io::RedisReply::Type::Error;
  } catch (...) {
    failure = std::current_exception();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (auto* m = Metrics::current()) m->redis_command(op_name, ok, secs);
  if (failure) std::rethrow_exception(failure);
  co_return reply;
}

// ---------------------------------------------------------------------------------------------------------
struct Health::Impl {
  asio::any_io_executor ex;
  io::RedisClient& redis;
  io::KamailioRpc& rpc;
  Metrics& metrics;
  Options opts;
  asio::steady_timer timer;
  std::atomic<bool> stopped{false};
  std::atomic<bool> redis_up{false};
  std::atomic<bool> kamailio_up{false};
  std::atomic<bool> probed{false};
  std::atomic<bool> draining{false};
  std::chrono::steady_clock::time_point next_count{};

  Impl(asio::any_io_executor e, io::RedisClient& r, io::KamailioRpc& k, Metrics& m, Options o)
      : ex(e), redis(r), rpc(k), metrics(m), opts(std::move(o)), timer(e) {}
};

namespace {

asio::awaitable<bool> ping_redis(io::RedisClient& redis) {
  if (!redis.connected()) co_return false;
  bool ok = false;
  try {
    std::vector<std::string> args{"PING"};
    auto r = co_await timed_redis(redis, std::move(args), "ping");
    ok = r.type == io::RedisReply::Type::Status && r.str == "PONG";
  } catch (const std::exception&) {
    ok = false;
  }
  co_return ok;
}

asio::awaitable<bool> ping_kamailio(io::KamailioRpc& rpc, Metrics& metrics, const std::string& url,
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

// Counts dp:call:* keys with SCAN (bounded work per round).
asio::awaitable<std::optional<long long>> count_calls(io::RedisClient& redis, const std::string& prefix) {
  long long n = 0;
  std::string cursor = "0";
  for (int round = 0; round < 1000; ++round) {
    std::vector<std::string> args{"SCAN", cursor, "MATCH", prefix + "call:*", "COUNT", "1000"};
    auto r = co_await timed_redis(redis, std::move(args), "scan");
    if (r.type != io::RedisReply::Type::Array || r.elements.size() != 2) co_return std::nullopt;
    cursor = r.elements[0].str;
    n += static_cast<long long>(r.elements[1].elements.size());
    if (cursor == "0") co_return n;
  }
  co_return std::nullopt;
}

asio::awaitable<void> probe_loop(std::shared_ptr<Health::Impl> self) {
  bool first = true;
  bool was_redis = false, was_kam = false;
  while (!self->stopped) {
    bool redis_up = co_await ping_redis(self->redis);
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
        auto n = co_await count_calls(self->redis, self->opts.redis_prefix);
        if (n) self->metrics.active_calls(static_cast<double>(*n));
      } catch (const std::exception& e) {
        log::debug("active_calls_count_failed", {{"error", e.what()}});
      }
    }
    if (self->opts.webhook_queue) self->metrics.webhook_queue(static_cast<double>(self->opts.webhook_queue()));

    self->timer.expires_after(self->opts.probe_interval);
    boost::system::error_code ec;
    co_await self->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

Health::Health(asio::any_io_executor ex, io::RedisClient& redis, io::KamailioRpc& rpc, Metrics& metrics,
               Options opts)
    : impl_(std::make_shared<Impl>(ex, redis, rpc, metrics, std::move(opts))) {}

Health::~Health() { stop(); }

void Health::start() {
  asio::co_spawn(impl_->ex, probe_loop(impl_), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("health_probe_crashed", {{"error", ex.what()}});
    }
  });
}

void Health::stop() {
  impl_->stopped = true;
  asio::post(impl_->ex, [i = impl_] { i->timer.cancel(); });
}

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
  o.redis_prefix = cfg.redis_prefix;
  o.webhook_queue = std::move(webhook_queue);
  return o;
}

}  // namespace dp::app
