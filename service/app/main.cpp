// dialplane: runs the jambonz `dial` verb on Kamailio + rtpengine. See README.md.
#include "app/session/call_flow.hpp"
#include "app/session/kamailio_rpc_control.hpp"
#include "app/store/call_store.hpp"
#include "app/config/config.hpp"
#include "app/api/internal/internal_api.hpp"
#include "app/observability/metrics.hpp"
#include "app/delivery/outbox.hpp"
#include "app/delivery/timer_service.hpp"
#include "app/store/provisioning_store.hpp"
#include "app/api/rest/rest_api.hpp"
#include "app/config/seed.hpp"
#include "app/config/validate_command.hpp"
#include "app/delivery/webhooks.hpp"
#include "core/log.hpp"
#include "io/http/http_client.hpp"
#include "io/http/http_server.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io/run_contained.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/asio.hpp>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

namespace asio = boost::asio;
using namespace dp;

namespace {

asio::ip::tcp::endpoint parse_endpoint(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected ADDR:PORT, got " + s);
  auto host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(s.substr(colon + 1)))};
}

asio::awaitable<void> load_seed_file(app::ProvisioningStore& store, io::RedisClient& redis, std::string path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read seed file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto seed = boost::json::parse(ss.str());
  // Redis may still be connecting at start-up: retry for a while.
  for (int attempt = 0;; ++attempt) {
    try {
      co_await app::load_seed(store, seed);
      log::info("seed_loaded", {{"file", path}});
      co_return;
    } catch (const io::RedisError& e) {
      if (attempt >= 40) throw;
    }
    // (no co_await inside a catch handler)
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(250));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// The listeners' connections need descriptors, as do Redis and webhooks. Raises the soft fd limit to the hard
// one, then keeps the per-listener cap within it so full listeners cannot starve the rest.
std::size_t connection_cap(int configured) {
  if (configured <= 0) return 0;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return static_cast<std::size_t>(configured);
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised{lim.rlim_max, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  constexpr rlim_t kReserve = 256;  // Redis, webhook pool, logs
  constexpr rlim_t kListeners = 3;  // internal, api, metrics
  rlim_t fit = lim.rlim_cur > 2 * kReserve ? (lim.rlim_cur - kReserve) / kListeners : kReserve / kListeners;
  if (static_cast<rlim_t>(configured) <= fit) return static_cast<std::size_t>(configured);
  log::warn("http_max_connections_lowered", {{"configured", std::to_string(configured)},
                                             {"used", std::to_string(fit)},
                                             {"fd_limit", std::to_string(lim.rlim_cur)}});
  return static_cast<std::size_t>(fit);
}

io::HttpServer::Options listener_options(const app::Config& cfg, std::string name, std::size_t cap,
                                         app::Metrics& metrics) {
  io::HttpServer::Options o;
  o.name = std::move(name);
  o.max_connections = cap;
  o.header_timeout = std::chrono::milliseconds(cfg.http_header_timeout_ms);
  o.body_timeout = std::chrono::milliseconds(cfg.http_body_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(cfg.http_idle_timeout_ms);
  o.observer = [&metrics](std::string_view listener, io::ServerEvent ev) { metrics.http_server(listener, ev); };
  return o;
}

// Logs and counts an exception that would otherwise end the process (or vanish with a detached coroutine).
void contain(std::string_view task, std::exception_ptr e, app::Metrics& metrics) {
  metrics.uncaught_exception(task);
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("task_failed", {{"task", task}, {"error", ex.what()}});
  } catch (...) {
    log::error("task_failed", {{"task", task}, {"error", "unknown exception"}});
  }
}

// Completion handler for long-running coroutines.
auto log_failure(const char* task, app::Metrics& metrics) {
  return [task, &metrics](std::exception_ptr e) {
    if (e) contain(task, e, metrics);
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "validate") {
    if (args.size() != 2) {
      std::cerr << "usage: dialplane validate FILE\n";
      return 2;
    }
    return app::run_validate(args[1], std::cout, std::cerr);
  }
  bool help = false;
  auto cfg = app::parse_config(args, std::cerr, help);
  if (help) {
    app::print_help(std::cout);
    return 0;
  }
  if (!cfg) {
    app::print_help(std::cerr);
    return 2;
  }
  log::Level lvl;
  if (!log::parse_level(cfg->log_level, lvl)) {
    std::cerr << "invalid --log-level " << cfg->log_level << "\n";
    return 2;
  }
  log::set_level(lvl);
  if (cfg->instance_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    cfg->instance_id = std::string(host) + ":" + std::to_string(getpid());
  }

  try {
    // One thread: every handler is async, and per-call ordering stays simple. Scale with instances.
    asio::io_context ioc(1);
    auto ex = ioc.get_executor();

    io::RedisClient redis(ex, {cfg->redis_host, cfg->redis_port, cfg->redis_password,
                               std::chrono::milliseconds(1000), std::chrono::milliseconds(250)});
    redis.start();
    io::HttpClient::Options hopts;
    hopts.verify_tls = cfg->webhook_verify_tls;
    io::HttpClient http(ex, hopts);
    io::HttpClient rpc_http(ex, {});
    io::KamailioRpc rpc(rpc_http);
    app::Metrics metrics;
    metrics.install();

    app::ProvisioningStore prov(redis, cfg->redis_prefix);
    app::CallStore calls(redis, cfg->redis_prefix, cfg->call_ttl_s);
    app::Webhooks hooks(http, prov, metrics, std::chrono::milliseconds(cfg->webhook_timeout_ms));
    app::Outbox outbox(ex, redis, hooks, cfg->redis_prefix);
    app::KamailioRpcControl kamailio(rpc);
    app::CallFlow flow({ex, *cfg, calls, prov, hooks, kamailio, metrics, outbox});
    app::TimerService timers(
        ex, redis, cfg->redis_prefix, metrics, [&flow](const std::string& id) { return flow.on_timer(id); },
        std::chrono::milliseconds(cfg->timer_poll_ms));
    app::InternalApi internal(flow, redis, cfg->redis_prefix);
    app::Health health(ex, redis, rpc, metrics, app::health_options(*cfg, [&outbox] { return outbox.active(); }));
    internal.set_health(&health);
    health.start();
    app::RestApi rest(prov, cfg->api_keys);

    const std::size_t cap = connection_cap(cfg->http_max_connections);
    io::HttpServer internal_srv(ioc, parse_endpoint(cfg->internal_listen),
                                [&](io::ServerRequest& r) { return internal.handle(r); },
                                listener_options(*cfg, "internal", cap, metrics));
    auto api_opts = listener_options(*cfg, "api", cap, metrics);
    // A request without a valid key (or with a non-JSON body) is refused before its body is read.
    api_opts.header_check = [&rest](const io::ServerRequest& r) { return rest.check_headers(r); };
    io::HttpServer api_srv(ioc, parse_endpoint(cfg->api_listen), [&](io::ServerRequest& r) { return rest.handle(r); },
                           std::move(api_opts));
    std::optional<io::HttpServer> metrics_srv;
    if (!cfg->metrics_listen.empty())
      metrics_srv.emplace(ioc, parse_endpoint(cfg->metrics_listen),
                          [&](io::ServerRequest& r) { return metrics.handle(r); },
                          listener_options(*cfg, "metrics", cap, metrics));
    internal_srv.start();
    api_srv.start();
    if (metrics_srv) metrics_srv->start();

    if (!cfg->seed_file.empty()) {
      asio::co_spawn(ioc, load_seed_file(prov, redis, cfg->seed_file), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("seed_failed", {{"error", ex.what()}});
          std::exit(1);
        }
      });
    }

    asio::co_spawn(ioc, timers.run(), log_failure("timers", metrics));
    asio::co_spawn(ioc, outbox.run(std::chrono::milliseconds(200)), log_failure("outbox", metrics));

    // SIGTERM: turn not-ready at once (the load balancer stops sending new calls; a new INVITE that still
    // arrives gets HTTP 503 so the balancer re-sends it elsewhere), stop claiming timers (the other
    // instances fire them), keep serving the calls' events for --drain-seconds, let in-flight webhooks
    // finish, then exit. A second signal exits at once.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    bool draining = false;
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
          if (ec) return;
          if (draining) {
            log::warn("shutdown_forced", {{"signal", std::to_string(sig)}});
            ioc.stop();
            return;
          }
          draining = true;
          log::info("draining", {{"signal", std::to_string(sig)}, {"seconds", std::to_string(cfg->drain_seconds)}});
          internal.set_draining(true);
          timers.stop();
          outbox.stop();
          signals.async_wait(on_signal);
          asio::co_spawn(
              ioc,
              [&]() -> asio::awaitable<void> {
                asio::steady_timer t(ioc);
                t.expires_after(std::chrono::seconds(cfg->drain_seconds));
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                internal_srv.stop();
                api_srv.stop();
                // In-flight timer actions and webhook deliveries get a bounded time to finish.
                for (int i = 0; i < 100 && (timers.in_flight() > 0 || outbox.active() > 0); ++i) {
                  t.expires_after(std::chrono::milliseconds(50));
                  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                }
                log::info("shutdown", {{"instance", cfg->instance_id}});
                health.stop();
                redis.stop();
                ioc.stop();
              },
              log_failure("drain", metrics));
        };
    signals.async_wait(on_signal);
    log::info("started", {{"instance", cfg->instance_id}, {"internal", cfg->internal_listen},
                          {"api", cfg->api_listen}, {"metrics", cfg->metrics_listen}});
    io::run_contained(ioc, [&metrics](std::exception_ptr e) { contain("io_context", e, metrics); });
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
