// hiredis async context driven by Asio: hiredis asks for read/write interest through its ev hooks, we turn
// each request into an async_wait on a stream_descriptor wrapping hiredis's fd, and call
// redisAsyncHandleRead/Write when the fd is ready. Everything touching hiredis runs on one strand.
#include "io/redis/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <mutex>
#include <openssl/evp.h>
#include <string_view>
#include <unordered_map>

#include "core/log.hpp"

namespace asio = boost::asio;

namespace dp::io {
namespace {

using ReplyHandler = asio::any_completion_handler<void(std::exception_ptr, RedisReply)>;
using Strand = asio::strand<asio::any_io_executor>;

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::Nil;
  }
  return out;
}

// Redis echoes the first arguments of unknown commands ("..., with args beginning with: 'x'"); those may
// be secrets, so the echo is cut off before the message reaches an exception or a log line.
std::string sanitize_error(std::string msg) {
  auto p = msg.find(", with args beginning with");
  if (p != std::string::npos) msg.resize(p);
  return msg;
}

// One command waiting for its reply. Shared by the caller's timeout timer, the send queue and hiredis's
// callback (which always fires exactly once: with a reply, or with NULL when the context is freed).
struct Pending {
  // `caller` is the waiting coroutine's executor with outstanding work tracked, so its io_context (which
  // may not be ours) does not run out of work while it waits on us.
  Pending(const Strand& s, ReplyHandler h, asio::any_io_executor caller, std::vector<std::string> a)
      : handler(std::move(h)),
        work(std::move(caller)),
        args(std::move(a)),
        timer(s) {}

  ReplyHandler handler;
  asio::any_io_executor work;
  std::vector<std::string> args;  // dropped as soon as the command is handed to hiredis
  asio::steady_timer timer;
  bool sent = false;
  bool done = false;

  // Completions are posted, never run inline: hiredis may be mid-callback or mid-free here.
  void complete(std::exception_ptr e, RedisReply r) {
    if (done) return;
    done = true;
    timer.cancel();
    auto ex = work;
    asio::post(ex, [h = std::move(handler), e, r = std::move(r), w = std::move(work)]() mutable {
      std::move(h)(e, std::move(r));
    });
  }
  void fail(RedisError::Kind k, const char* msg) {
    complete(std::make_exception_ptr(RedisError(k, msg)), RedisReply{});
  }
};

// Asio side of one hiredis context: read/write interest flags and at most one outstanding wait per
// direction. Queued commands are written at the end of the strand's current turn (several in one write)
// rather than after a wait for writability: an async_wait re-arms epoll each time (an epoll_ctl and a
// wake-up per command). A write waits only while connecting or when the socket buffer is full. Kept alive by
// its own pending waits after hiredis frees the context.
struct Watch : std::enable_shared_from_this<Watch> {
  Watch(const Strand& s, redisAsyncContext* c) : sd(s, c->c.fd), ac(c) {}

  asio::posix::stream_descriptor sd;
  redisAsyncContext* ac;
  bool alive = true;
  bool want_read = false, want_write = false;
  bool read_armed = false, write_armed = false;
  bool flush_posted = false;
  bool in_write = false;  // inside redisAsyncHandleWrite, which re-adds write interest when it could not finish
  std::function<void()> on_cleanup;

  void arm_read() {
    if (!alive || read_armed) return;
    read_armed = true;
    sd.async_wait(asio::posix::descriptor_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      self->read_armed = false;
      if (ec || !self->alive || !self->want_read) return;
      redisAsyncHandleRead(self->ac);  // may free the context (cleanup() clears alive)
      if (self->alive && self->want_read) self->arm_read();
    });
  }
  void write_now() {
    in_write = true;
    redisAsyncHandleWrite(ac);  // completes a pending connect, then writes what hiredis has queued
    in_write = false;
    if (alive && want_write) arm_write();
  }
  void arm_write() {
    if (!alive || write_armed) return;
    write_armed = true;
    sd.async_wait(asio::posix::descriptor_base::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
      self->write_armed = false;
      if (ec || !self->alive || !self->want_write) return;
      self->write_now();
    });
  }
  void schedule_write() {
    if (!alive || in_write || write_armed || flush_posted) return;
    if (!(ac->c.flags & REDIS_CONNECTED)) {  // the connect completes when the socket turns writable
      arm_write();
      return;
    }
    flush_posted = true;
    asio::post(sd.get_executor(), [self = shared_from_this()] {
      self->flush_posted = false;
      if (self->alive && self->want_write && !self->write_armed) self->write_now();
    });
  }
  // hiredis closes the fd itself, so the descriptor is released (deregistered, waits aborted), not closed.
  void cleanup() {
    if (!alive) return;  // hiredis may call cleanup twice for one context
    alive = false;
    want_read = want_write = false;
    sd.release();
    if (on_cleanup) std::exchange(on_cleanup, nullptr)();
  }

  static void add_read(void* p) { auto* w = static_cast<Watch*>(p); w->want_read = true; w->arm_read(); }
  static void del_read(void* p) { static_cast<Watch*>(p)->want_read = false; }
  static void add_write(void* p) {
    auto* w = static_cast<Watch*>(p);
    w->want_write = true;
    w->schedule_write();
  }
  static void del_write(void* p) { static_cast<Watch*>(p)->want_write = false; }
  static void cleanup_hook(void* p) {
    // hiredis holds only a raw pointer; the shared_ptr below keeps the Watch alive through cleanup.
    auto* w = static_cast<Watch*>(p);
    auto keep = w->shared_from_this();
    // hiredis may still call hooks while it tears the context down; make them no-ops.
    auto& ev = keep->ac->ev;
    ev.addRead = ev.delRead = ev.addWrite = ev.delWrite = ev.cleanup = nullptr;
    ev.data = nullptr;
    keep->cleanup();
  }
};

}  // namespace

struct RedisClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, Options o)
      : strand(asio::make_strand(ex)), opts(std::move(o)), reconnect_timer(strand), connect_timer(strand),
        resolver(strand) {}

  ~Impl() {
    // Nobody else references us any more, so touching hiredis outside the strand is safe here.
    do_stop();
  }

  Strand strand;
  Options opts;
  asio::steady_timer reconnect_timer;
  asio::steady_timer connect_timer;
  asio::ip::tcp::resolver resolver;

  redisAsyncContext* ac = nullptr;
  std::shared_ptr<Watch> watch;
  std::deque<std::shared_ptr<Pending>> queued;  // accepted while not connected, sent once ready
  std::atomic<bool> ready{false};
  bool started = false;
  bool stopping = false;
  bool ever_connected = false;
  uint64_t attempt = 0;
  unsigned failures = 0;  // consecutive failed connection attempts

  void start() {
    if (started || stopping) return;
    started = true;
    connect();
  }

  // Where the log lines say Redis is.
  std::string where() const {
    return opts.unix_path.empty() ? opts.host + ":" + std::to_string(opts.port) : "unix:" + opts.unix_path;
  }

  void connect() {
    const uint64_t my_attempt = ++attempt;
    if (!opts.unix_path.empty()) {
      open(redisAsyncConnectUnix(opts.unix_path.c_str()), my_attempt);
      return;
    }
    // Resolve with Asio so a slow DNS lookup never blocks the strand inside hiredis (which would
    // call getaddrinfo synchronously).
    resolver.async_resolve(opts.host, std::to_string(opts.port),
                           [self = shared_from_this(), my_attempt](boost::system::error_code ec, auto results) {
                             if (self->stopping || my_attempt != self->attempt) return;
                             if (ec || results.empty()) {
                               self->connect_failed("resolve: " + ec.message());
                               self->schedule_reconnect();
                               return;
                             }
                             const auto ip = results.begin()->endpoint().address().to_string();
                             self->open(redisAsyncConnect(ip.c_str(), self->opts.port), my_attempt);
                           });
  }

  void open(redisAsyncContext* c, uint64_t my_attempt) {
    if (!c || c->err) {
      connect_failed(c && c->errstr ? c->errstr : "alloc");
      if (c) redisAsyncFree(c);
      schedule_reconnect();
      return;
    }
    ac = c;
    ac->data = this;
    // TCP keepalive notices a silently dead peer instead of waiting forever (a local socket's peer cannot
    // vanish silently).
    if (opts.unix_path.empty()) redisEnableKeepAlive(&ac->c);
    watch = std::make_shared<Watch>(strand, ac);
    watch->on_cleanup = [this, c] { on_context_gone(c); };
    ac->ev.data = watch.get();
    ac->ev.addRead = &Watch::add_read;
    ac->ev.delRead = &Watch::del_read;
    ac->ev.addWrite = &Watch::add_write;
    ac->ev.delWrite = &Watch::del_write;
    ac->ev.cleanup = &Watch::cleanup_hook;
    redisAsyncSetConnectCallback(ac, &Impl::on_connect);  // arms the first write wait

    // hiredis's async connect has no timeout of its own.
    connect_timer.expires_after(std::max<std::chrono::milliseconds>(opts.command_timeout, std::chrono::milliseconds(500)));
    connect_timer.async_wait([self = shared_from_this(), my_attempt](boost::system::error_code ec) {
      if (ec || self->stopping || my_attempt != self->attempt || self->ready || !self->ac) return;
      self->connect_failed("timeout");
      redisAsyncFree(self->ac);  // -> cleanup -> on_context_gone -> reconnect
    });
  }

  static void on_connect(const redisAsyncContext* c, int status) {
    auto* self = static_cast<Impl*>(c->data);
    if (status != REDIS_OK) {
      // hiredis frees the context right after this; the cleanup hook schedules the reconnect.
      self->connect_failed(c->errstr ? c->errstr : "");
      return;
    }
    if (self->opts.password.empty()) {
      self->on_ready();
      return;
    }
    const char* argv[] = {"AUTH", self->opts.password.data()};
    const size_t lens[] = {4, self->opts.password.size()};
    redisAsyncCommandArgv(self->ac, &Impl::on_auth, nullptr, 2, argv, lens);
  }

  static void on_auth(redisAsyncContext* c, void* r, void*) {
    auto* self = static_cast<Impl*>(c->data);
    auto* reply = static_cast<redisReply*>(r);
    if (!reply) return;  // connection lost during AUTH; cleanup handles it
    if (reply->type == REDIS_REPLY_ERROR) {
      log::error("redis_auth_failed", {{"redis", self->where()}, {"error", sanitize_error(std::string(reply->str, reply->len))}});
      redisAsyncFree(c);  // deferred by hiredis until this callback returns
      return;
    }
    self->on_ready();
  }

  // Only the first failure of a streak is a warning; retries every reconnect_delay would flood the log.
  void connect_failed(const std::string& why) {
    if (failures++ == 0) log::warn("redis_connect_failed", {{"redis", where()}, {"error", why}});
    else log::debug("redis_connect_failed", {{"redis", where()}, {"error", why}, {"attempts", std::to_string(failures)}});
  }

  void on_ready() {
    failures = 0;
    connect_timer.cancel();
    ready = true;
    log::info(ever_connected ? "redis_reconnected" : "redis_connected", {{"redis", where()}});
    ever_connected = true;
    auto q = std::move(queued);
    queued.clear();
    for (auto& p : q)
      if (!p->done) send(p);
  }

  // Called (via the Watch's cleanup) whenever hiredis frees a context: error, EOF, our own free.
  void on_context_gone(redisAsyncContext* c) {
    if (ac != c) return;
    bool was_ready = ready.exchange(false);
    ac = nullptr;
    watch.reset();
    if (stopping) return;
    if (was_ready) log::warn("redis_disconnected", {{"redis", where()}, {"error", c->errstr ? c->errstr : "closed"}});
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (stopping) return;
    const uint64_t my_attempt = attempt;
    reconnect_timer.expires_after(opts.reconnect_delay);
    reconnect_timer.async_wait([self = shared_from_this(), my_attempt](boost::system::error_code ec) {
      if (ec || self->stopping || my_attempt != self->attempt) return;
      self->connect();
    });
  }

  void submit(const std::shared_ptr<Pending>& p) {
    if (!started || stopping) {
      p->fail(RedisError::Kind::Disconnected, "redis client not running");
      return;
    }
    p->timer.expires_after(opts.command_timeout);
    p->timer.async_wait([p](boost::system::error_code ec) {
      if (ec) return;
      if (p->sent) p->fail(RedisError::Kind::Timeout, "redis command timed out");
      else p->fail(RedisError::Kind::Disconnected, "redis not connected");
    });
    if (ready) send(p);
    else queued.push_back(p);
  }

  void send(const std::shared_ptr<Pending>& p) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(p->args.size());
    lens.reserve(p->args.size());
    for (auto& a : p->args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* holder = new std::shared_ptr<Pending>(p);
    int rc = redisAsyncCommandArgv(ac, &Impl::on_reply, holder, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (rc != REDIS_OK) {
      delete holder;
      p->fail(RedisError::Kind::Disconnected, "redis connection not writable");
      return;
    }
    p->sent = true;
    std::vector<std::string>().swap(p->args);  // hiredis copied them into its output buffer
  }

  static void on_reply(redisAsyncContext*, void* r, void* privdata) {
    std::unique_ptr<std::shared_ptr<Pending>> holder(static_cast<std::shared_ptr<Pending>*>(privdata));
    auto& p = *holder;
    auto* reply = static_cast<redisReply*>(r);
    if (!reply) {
      p->fail(RedisError::Kind::Disconnected, "redis connection lost");
      return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      p->complete(std::make_exception_ptr(
                      RedisError(RedisError::Kind::Reply, sanitize_error(std::string(reply->str, reply->len)))),
                  RedisReply{});
      return;
    }
    p->complete(nullptr, convert(reply));
  }

  void do_stop() {
    if (stopping) return;
    stopping = true;
    ready = false;
    reconnect_timer.cancel();
    connect_timer.cancel();
    resolver.cancel();
    if (ac) {
      auto* c = ac;
      redisAsyncFree(c);  // fails in-flight commands with Disconnected, then runs the cleanup hook
      ac = nullptr;
      watch.reset();
    }
    auto q = std::move(queued);
    queued.clear();
    for (auto& p : q) p->fail(RedisError::Kind::Disconnected, "redis client stopped");
  }
};

RedisClient::RedisClient(asio::any_io_executor ex, Options opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

// Stops synchronously so the hiredis context and its fd are gone when the destructor returns. Destroy the
// client from its io_context's thread, or once no other thread runs that io_context.
RedisClient::~RedisClient() {
  if (impl_) impl_->do_stop();
}

void RedisClient::start() {
  asio::post(impl_->strand, [impl = impl_] { impl->start(); });
}

void RedisClient::stop() {
  if (impl_->strand.running_in_this_thread()) impl_->do_stop();
  else asio::post(impl_->strand, [impl = impl_] { impl->do_stop(); });
}

bool RedisClient::connected() const { return impl_->ready.load(); }

// Scripts' SHA1s, computed once per script body (the bodies are the few constants of the stores).
std::string RedisClient::script_sha(const std::string& body) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::string> shas;
  std::lock_guard lock(mu);
  auto it = shas.find(body);
  if (it != shas.end()) return it->second;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(body.data(), body.size(), md, &n, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return shas.emplace(body, std::move(hex)).first->second;
}

asio::awaitable<RedisReply> RedisClient::command(std::vector<std::string> args) {
  if (args.empty()) throw RedisError(RedisError::Kind::Reply, "empty redis command");
  if (args.size() < 2 || args[0] != "EVAL") {
    auto r = co_await send(std::move(args));
    co_return r;
  }
  // A script goes as EVALSHA: its body (up to 2 KB) reaches Redis once, on the NOSCRIPT answer after a start,
  // a restart or a SCRIPT FLUSH, instead of with every call.
  std::vector<std::string> as_eval = args;
  args[0] = "EVALSHA";
  args[1] = script_sha(as_eval[1]);
  try {
    auto r = co_await send(std::move(args));
    co_return r;
  } catch (const RedisError& e) {
    if (e.kind != RedisError::Kind::Reply || std::string_view(e.what()).rfind("NOSCRIPT", 0) != 0) throw;
  }
  auto r = co_await send(std::move(as_eval));
  co_return r;
}

asio::awaitable<RedisReply> RedisClient::send(std::vector<std::string> args) {
  // Named locals rather than temporaries inside the co_await expression (docs/coroutines.md).
  auto initiate = [impl = impl_, a = std::move(args)](auto handler) mutable {
    asio::any_io_executor caller =
        asio::prefer(asio::get_associated_executor(handler, impl->strand), asio::execution::outstanding_work.tracked);
    auto p = std::make_shared<Pending>(impl->strand, ReplyHandler(std::move(handler)), std::move(caller), std::move(a));
    asio::post(impl->strand, [impl, p] { impl->submit(p); });
  };
  auto op = asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, RedisReply)>(
      std::move(initiate), asio::use_awaitable);
  RedisReply r = co_await std::move(op);
  co_return r;
}

}  // namespace dp::io
