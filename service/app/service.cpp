#include "app/service.hpp"

#include "app/api/internal/internal_api.hpp"
#include "app/api/rest/calls_api.hpp"
#include "app/api/rest/rest_api.hpp"
#include "app/config/seed.hpp"
#include "app/delivery/outbox.hpp"
#include "app/delivery/timer_service.hpp"
#include "app/delivery/webhooks.hpp"
#include "app/media/media_files.hpp"
#include "app/media/speech_recognizer.hpp"
#include "app/observability/health.hpp"
#include "app/observability/metrics.hpp"
#include "app/session/call_flow.hpp"
#include "app/session/kamailio_rpc_control.hpp"
#include "app/session/live_call.hpp"
#include "app/session/ng_media_port.hpp"
#include "app/store/call_store.hpp"
#include "app/store/provisioning_cache.hpp"
#include "app/store/provisioning_store.hpp"
#include "core/log.hpp"
#include "io/http/http_client.hpp"
#include "io/http/http_server.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io/media/flite_tts.hpp"
#include "io/media/media_cache.hpp"
#include "io/media/media_store.hpp"
#include "io/media/pocketsphinx_recognizer.hpp"
#include "io/redis/redis_client.hpp"
#include "io/rtpengine/dtmf_listener.hpp"
#include "io/rtpengine/ng_client.hpp"
#include "io/run_contained.hpp"
#include "io/task_group.hpp"

#include <boost/asio.hpp>
#include <fstream>
#include <optional>
#include <sstream>
#include <sys/resource.h>

namespace dp::app {

namespace asio = boost::asio;

namespace {

// After --drain-seconds: in-flight work gets this long to finish, then what is left is cancelled and gets
// kCancelGrace to unwind. Together they keep the drain at --drain-seconds + 5 s, as the deployment expects.
constexpr auto kFinishInFlight = std::chrono::seconds(4);
constexpr auto kCancelGrace = std::chrono::seconds(1);

asio::ip::tcp::endpoint parse_endpoint(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected ADDR:PORT, got " + s);
  auto host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(s.substr(colon + 1)))};
}

asio::ip::udp::endpoint parse_udp_endpoint(const std::string& s) {
  auto tcp = parse_endpoint(s);
  return {tcp.address(), tcp.port()};
}

io::NgClient::Options ng_options(const Config& cfg, RtpengineStats& stats) {
  io::NgClient::Options o;
  o.timeout = std::chrono::milliseconds(cfg.ng_timeout_ms);
  o.observer = &stats;
  return o;
}

asio::awaitable<void> load_seed_file(ProvisioningPort& store, std::string path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read seed file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto seed = boost::json::parse(ss.str());
  // Redis may still be connecting at start-up: retry for a while.
  for (int attempt = 0;; ++attempt) {
    try {
      co_await load_seed(store, seed);
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

io::HttpServer::Options listener_options(const Config& cfg, std::string name, std::size_t cap, Metrics& metrics,
                                         io::TaskGroup& tasks) {
  io::HttpServer::Options o;
  o.name = std::move(name);
  o.max_connections = cap;
  o.header_timeout = std::chrono::milliseconds(cfg.http_header_timeout_ms);
  o.body_timeout = std::chrono::milliseconds(cfg.http_body_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(cfg.http_idle_timeout_ms);
  o.observer = [&stats = metrics.process()](std::string_view listener, io::ServerEvent ev) {
    stats.http_server(listener, ev);
  };
  o.tasks = &tasks;
  return o;
}

// Logs and counts an exception that would otherwise end the process (or vanish with its coroutine).
void contain(std::string_view task, std::exception_ptr e, ProcessStats& stats) {
  stats.uncaught_exception(task);
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("task_failed", {{"task", task}, {"error", ex.what()}});
  } catch (...) {
    log::error("task_failed", {{"task", task}, {"error", "unknown exception"}});
  }
}

io::PocketsphinxOptions stt_options(const Config& cfg) {
  io::PocketsphinxOptions o;
  o.model_dir = cfg.stt_model_dir;
  o.decoders = static_cast<std::size_t>(cfg.stt_decoders);
  return o;
}

std::string stt_off_reason(const Config& cfg) {
  if (cfg.stt_decoders <= 0) return "--stt-decoders is 0";
  auto why = io::PocketsphinxPool::check_model(stt_options(cfg));
  if (!why.empty()) log::warn("stt_model_missing", {{"error", why}});
  return why;
}

}  // namespace

// Members in construction order: each component only refers to those above it.
// Gateway keys of the Microsoft Teams proxies: Kamailio pings them while an account has Teams settings.
static std::vector<std::string> teams_ping_keys(const Config& cfg) {
  std::vector<std::string> out;
  for (const auto& p : cfg.teams_proxies) out.push_back(core::teams_dst(p));
  return out;
}

struct Service::Impl {
  Config cfg;
  // One thread: every handler is async, and per-call ordering stays simple. Scale with instances.
  asio::io_context ioc{1};
  io::TaskGroup tasks{ioc.get_executor()};

  io::RedisClient redis{ioc.get_executor(),
                        {.host = cfg.redis_host,
                         .port = cfg.redis_port,
                         .password = cfg.redis_password,
                         .command_timeout = std::chrono::milliseconds(1000),
                         .reconnect_delay = std::chrono::milliseconds(250),
                         .unix_path = cfg.redis_socket}};
  io::HttpClient http{ioc.get_executor(), webhook_client_options(cfg)};
  io::HttpClient rpc_http{ioc.get_executor(), {}};
  io::KamailioRpc rpc{rpc_http};
  Metrics metrics;

  // Audio files for play/say: their own HTTP client (its own connection pool; the size cap is per request), the
  // --media-dir store (created and checked here: an unusable directory stops the start), flite on its own thread.
  // The call session takes media_files as its MediaFilesPort.
  io::HttpClient media_http{ioc.get_executor(), {}};
  io::MediaStore media_store{media_store_options(cfg), metrics.media()};
  io::MediaCache media_cache{media_store, media_http, tasks, media_cache_options(cfg), metrics.media()};
  io::FliteTts flite{media_store, tasks, metrics.media()};
  MediaFiles media_files{media_cache, {&flite}, metrics.media()};

  // The dial's nested transcribe: a bounded pool of pocketsphinx decoders (each on its own thread, created on
  // first use), off when --stt-decoders is 0 or the model is missing (each transcribe then gets an error event).
  std::string stt_off = stt_off_reason(cfg);
  std::optional<io::PocketsphinxPool> stt_pool = stt_off.empty() ? std::optional<io::PocketsphinxPool>(
                                                                         std::in_place, stt_options(cfg))
                                                                   : std::nullopt;
  EmbeddedRecognizer stt{stt_pool ? &*stt_pool : nullptr, stt_off,
                         [this](std::size_t in_use, std::size_t size) { metrics.calls().stt_decoders(in_use, size); }};

  Keys keys{cfg.redis_prefix};
  ProvisioningStore prov_store{redis, keys, teams_ping_keys(cfg)};
  // Every user of provisioning goes through the cache (its writes drop it; other instances' writes are seen
  // within --prov-cache-ms).
  ProvisioningCache prov{prov_store, redis, keys, std::chrono::milliseconds(cfg.prov_cache_ms), metrics.redis()};
  CallStore calls{redis, keys, cfg.call_ttl_s, metrics.redis()};
  Webhooks hooks{http, prov, metrics.webhooks(), std::chrono::milliseconds(cfg.webhook_timeout_ms)};
  Outbox outbox{tasks, redis, hooks, keys, metrics.redis()};
  KamailioRpcControl kamailio{rpc};
  io::NgClient ng{ioc.get_executor(), ng_options(cfg, metrics.rtpengine())};
  NgMediaPort media{ng};
  CallFlow flow{
      {ioc.get_executor(), cfg, calls, prov, hooks, kamailio, metrics.calls(), outbox, media, media_files, &stt}};
  TimerService timers{tasks, redis, keys, metrics.timers(),
                      [this](const std::string& id) { return flow.on_timer(id); },
                      std::chrono::milliseconds(cfg.timer_poll_ms)};
  LiveCallControl live{{cfg, calls, media, media_files, metrics.calls(), flow, tasks}};
  CallsApi calls_api{live};
  InternalApi internal{flow, redis, prov, calls, metrics.calls()};
  Health health{redis, rpc, metrics.health(), metrics.redis(),
                health_options(cfg, [this] { return outbox.active(); })};
  RestApi rest{prov, cfg.api_keys};

  std::size_t cap = connection_cap(cfg.http_max_connections);
  io::HttpServer internal_srv{ioc, parse_endpoint(cfg.internal_listen),
                              [this](io::ServerRequest& r) { return internal.handle(r); },
                              listener_options(cfg, "internal", cap, metrics, tasks)};
  io::HttpServer api_srv{ioc, parse_endpoint(cfg.api_listen), [this](io::ServerRequest& r) { return rest.handle(r); },
                         api_options()};
  std::optional<io::HttpServer> metrics_srv;
  std::optional<io::DtmfListener> dtmf;

  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  asio::cancellation_signal stop_supervisor;  // ends the drain early (second signal, failed seed)
  bool supervising = false;
  io::TaskGroup::Handle timer_loop, outbox_loop, health_loop;
  int exit_code = 0;

  explicit Impl(Config c) : cfg(std::move(c)) {
    internal.set_health(&health);
    rest.set_calls(&calls_api);
    if (!cfg.metrics_listen.empty())
      metrics_srv.emplace(ioc, parse_endpoint(cfg.metrics_listen),
                          [this](io::ServerRequest& r) { return metrics.handle(r); },
                          listener_options(cfg, "metrics", cap, metrics, tasks));
    if (!cfg.dtmf_listen.empty())
      dtmf.emplace(ioc.get_executor(), parse_udp_endpoint(cfg.dtmf_listen),
                   [this](core::DtmfEvent ev) { return flow.dtmf(std::move(ev)); },
                   io::DtmfListener::Options{1024, &metrics.rtpengine()});
  }

  static io::HttpClient::Options webhook_client_options(const Config& cfg) {
    io::HttpClient::Options o;
    o.verify_tls = cfg.webhook_verify_tls;
    return o;
  }

  static io::MediaStore::Options media_store_options(const Config& cfg) {
    io::MediaStore::Options o;
    o.dir = cfg.media_dir;
    o.cap_bytes = static_cast<std::uint64_t>(cfg.media_cache_mb) << 20;
    return o;
  }

  static io::MediaCache::Options media_cache_options(const Config& cfg) {
    io::MediaCache::Options o;
    o.fetch_timeout = std::chrono::milliseconds(cfg.media_fetch_timeout_ms);
    o.max_file_bytes = static_cast<std::uint64_t>(cfg.media_max_file_mb) << 20;
    o.revalidate_after = std::chrono::seconds(cfg.media_revalidate_s);
    return o;
  }

  io::HttpServer::Options api_options() {
    auto o = listener_options(cfg, "api", cap, metrics, tasks);
    // A request without a valid key (or with a non-JSON body) is refused before its body is read.
    o.header_check = [this](const io::ServerRequest& r) { return rest.check_headers(r); };
    return o;
  }

  // A task's exit handler: failures are logged and counted under the task's name.
  auto contained(const char* task) {
    return [this, task](std::exception_ptr e) {
      if (e) contain(task, e, metrics.process());
    };
  }

  void start() {
    redis.start();
    internal_srv.start();
    api_srv.start();
    if (metrics_srv) metrics_srv->start();
    health_loop = tasks.spawn(health.run(), contained("health"));
    timer_loop = tasks.spawn(timers.run(), contained("timers"));
    outbox_loop = tasks.spawn(outbox.run(std::chrono::milliseconds(200)), contained("outbox"));
    // Keys keep coming while draining: the listener lives until the tasks are cancelled.
    if (dtmf) tasks.spawn(dtmf->run(), contained("dtmf"));
    if (!cfg.seed_file.empty())
      tasks.spawn(load_seed_file(prov, cfg.seed_file), [this](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("seed_failed", {{"error", ex.what()}});
        }
        stop_now(1);
      });
    // The supervisor is the root task: it owns the group's shutdown, so it is not one of the group's tasks.
    supervising = true;
    auto finished = [this](std::exception_ptr e) {
      supervising = false;
      if (e && !io::TaskGroup::is_cancellation(e)) contain("drain", e, metrics.process());
      ioc.stop();
    };
    asio::co_spawn(ioc, supervise(), asio::bind_cancellation_slot(stop_supervisor.slot(), std::move(finished)));
  }

  // Cancels every task and ends the supervisor, which stops the io_context.
  void stop_now(int code) {
    if (code != 0) exit_code = code;
    tasks.cancel();
    flow.sessions().cancel();
    boost::system::error_code ignored;
    signals.cancel(ignored);
    if (supervising) stop_supervisor.emit(asio::cancellation_type::terminal);
  }

  asio::awaitable<void> supervise() {
    auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    log::info("draining", {{"signal", std::to_string(sig)}, {"seconds", std::to_string(cfg.drain_seconds)}});
    internal.set_draining(true);
    // Stop claiming new work: the other instances fire the timers and resume stale outboxes.
    timer_loop.cancel();
    outbox_loop.cancel();
    signals.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log::warn("shutdown_forced", {{"signal", std::to_string(sig)}});
      stop_now(0);
    });
    asio::steady_timer drain(ioc, std::chrono::seconds(cfg.drain_seconds));
    co_await drain.async_wait(asio::use_awaitable);

    internal_srv.stop();
    api_srv.stop();
    if (metrics_srv) metrics_srv->stop();
    health_loop.cancel();
    // Screenings in progress end with the drain: their held callees get a BYE.
    bool sessions_done = co_await flow.sessions().wait_until(std::chrono::steady_clock::now() + kFinishInFlight);
    if (!sessions_done) flow.sessions().cancel();
    bool finished = co_await tasks.wait_until(std::chrono::steady_clock::now() + kFinishInFlight);
    if (!finished) {
      log::warn("drain_cancelling", {{"tasks", std::to_string(tasks.size())}});
      tasks.cancel();
      finished = co_await tasks.wait_until(std::chrono::steady_clock::now() + kCancelGrace);
      if (!finished) log::warn("drain_incomplete", {{"tasks", std::to_string(tasks.size())}});
    }
    log::info("shutdown", {{"instance", cfg.instance_id}});
    // No new disk writes or renderings; one still running on its thread ends when its owner is destroyed.
    flite.stop();
    if (stt_pool) stt_pool->stop();
    media_store.stop();
    redis.stop();
  }
};

Service::Service(Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Service::~Service() = default;


int Service::run() {
  impl_->start();
  const auto& cfg = impl_->cfg;
  log::info("started", {{"instance", cfg.instance_id}, {"internal", cfg.internal_listen},
                        {"api", cfg.api_listen}, {"metrics", cfg.metrics_listen}});
  io::run_contained(impl_->ioc, [this](std::exception_ptr e) { contain("io_context", e, impl_->metrics.process()); });
  return impl_->exit_code;
}

}  // namespace dp::app
