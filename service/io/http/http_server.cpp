#include "io/http/http_server.hpp"

#include "core/log.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <list>

namespace dp::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

using namespace http_parse;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kWriteTimeout = std::chrono::seconds(10);

std::chrono::milliseconds next_backoff(std::chrono::milliseconds cur) {
  using std::chrono::milliseconds;
  return std::clamp(cur * 2, milliseconds(10), milliseconds(1000));
}

// The answer to a request whose body read ended with `ec`; nullopt when it is fine (or nobody is left to answer).
std::optional<std::pair<int, std::string>> body_refusal(const beast::error_code& ec, const Parser& parser,
                                                        std::size_t header_fields) {
  if (!ec && has_trailers(parser, header_fields)) return std::pair{400, std::string(kNoTrailers)};
  if (ec) return answer_for(ec);
  return std::nullopt;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  // One open connection. The accept loop may close it to make room while it is still reading a request.
  struct Conn {
    explicit Conn(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    bool busy = false;  // a request is being handled or answered
    bool listed = true;
    std::list<std::shared_ptr<Conn>>::iterator pos;
  };

  asio::io_context& ioc;
  tcp::acceptor acceptor;
  tcp::endpoint endpoint;
  Handler handler;
  Options opts;
  std::unique_ptr<TaskGroup> own_tasks;  // when Options::tasks is not given
  TaskGroup& tasks;
  std::atomic<bool> stopping{false};
  std::list<std::shared_ptr<Conn>> conns;  // oldest first
  log::RateLimit shed_log{std::chrono::seconds(1)};

  Impl(asio::io_context& c, tcp::endpoint ep, Handler h, Options o)
      : ioc(c),
        acceptor(c),
        endpoint(ep),
        handler(std::move(h)),
        opts(std::move(o)),
        own_tasks(opts.tasks ? nullptr : std::make_unique<TaskGroup>(c.get_executor())),
        tasks(opts.tasks ? *opts.tasks : *own_tasks) {}

  void report(ServerEvent ev) {
    if (opts.observer) opts.observer(opts.name, ev);
  }

  void unlist(Conn& c) {
    if (!c.listed) return;
    c.listed = false;
    conns.erase(c.pos);
  }

  // Draining: a connection waiting for (or still reading) a request is closed; a busy one closes after its answer.
  void close_idle() {
    std::vector<std::shared_ptr<Conn>> idle;
    for (const auto& c : conns)
      if (!c->busy) idle.push_back(c);
    for (const auto& c : idle) {
      beast::error_code ec;
      c->stream.socket().close(ec);  // its pending read completes with operation_aborted
      unlist(*c);
    }
  }

  // Over the cap: close the oldest connection that is still reading a request (a slow or idle client), so a
  // flood of slow connections cannot lock out real clients. False when every connection is busy.
  bool make_room() {
    if (opts.max_connections == 0 || conns.size() < opts.max_connections) return true;
    std::shared_ptr<Conn> victim;
    for (const auto& c : conns)
      if (!c->busy) {
        victim = c;
        break;
      }
    std::size_t suppressed = 0;
    if (shed_log.allow(std::chrono::steady_clock::now(), suppressed))
      log::warn("http_connection_cap", {{"listener", opts.name},
                                        {"max", std::to_string(opts.max_connections)},
                                        {"action", victim ? "closed oldest reading connection" : "refused new"},
                                        {"suppressed", std::to_string(suppressed)}});
    if (!victim) {
      report(ServerEvent::ConnectionRefused);
      return false;
    }
    beast::error_code ec;
    victim->stream.socket().close(ec);  // its pending read completes with operation_aborted
    unlist(*victim);
    report(ServerEvent::ConnectionEvicted);
    return true;
  }

  static asio::awaitable<bool> send(beast::tcp_stream& stream, ServerResponse sres, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(sres.status), version};
    res.set(http::field::server, "dialplane");
    if (!sres.body.empty() || sres.status != 204) res.set(http::field::content_type, sres.content_type);
    for (auto& [k, v] : sres.headers) res.set(k, v);
    res.body() = std::move(sres.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    stream.expires_after(kWriteTimeout);
    auto [ec, n] = co_await http::async_write(stream, res, kTuple);
    co_return !ec;
  }

  // After refusing a request whose body may still be on its way: stop sending, then read and drop what
  // arrives for a moment, so closing does not reset the connection before the client has read the answer.
  static asio::awaitable<void> linger(beast::tcp_stream& stream) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(1));
    std::array<char, 4096> sink;
    for (std::size_t total = 0; total < (1u << 20);) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
      if (ec) break;
      total += n;
    }
  }

  // Keep-alive: the next request may take a while to come; once its first bytes are in, the header deadline
  // applies. False when the connection ended first.
  asio::awaitable<bool> await_next_request(beast::tcp_stream& stream, beast::flat_buffer& buf) {
    stream.expires_after(opts.idle_timeout);
    auto [ec, n] = co_await stream.async_read_some(buf.prepare(1024), kTuple);
    if (ec) co_return false;
    buf.commit(n);
    co_return true;
  }

  // Answers a refused request; the connection closes after it. Nothing to send when `bad` is empty (the
  // peer is gone).
  static asio::awaitable<void> send_refusal(beast::tcp_stream& stream, std::optional<std::pair<int, std::string>> bad,
                                            unsigned version) {
    if (!bad) co_return;
    ServerResponse res = ServerResponse::error(bad->first, bad->second);  // a named local (docs/coroutines.md)
    co_await send(stream, std::move(res), version, false);
  }

  std::optional<ServerResponse> header_refusal(const ServerRequest& sreq) const {
    if (!opts.header_check) return std::nullopt;
    return opts.header_check(sreq);
  }

  // The handler's response; a handler that throws answers 500.
  asio::awaitable<ServerResponse> respond(ServerRequest& sreq) {
    ServerResponse sres;
    try {
      sres = co_await handler(sreq);
    } catch (const std::exception& e) {
      log::error("http_handler_failed", {{"path", sreq.path}, {"error", e.what()}});
      sres = ServerResponse::error(500, "internal error");
    }
    co_return sres;
  }

  asio::awaitable<void> session(std::shared_ptr<Conn> conn) {
    auto& stream = conn->stream;
    beast::flat_buffer buf(opts.limits.buffer_bytes);
    std::string remote;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    bool refused = false;
    for (bool first = true;; first = false) {
      conn->busy = false;
      if (!first && buf.size() == 0) {
        bool more = co_await await_next_request(stream, buf);
        if (!more) break;
      }
      Parser parser;
      apply_limits(parser, opts.limits);
      stream.expires_after(opts.header_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, kTuple);
      std::optional<std::pair<int, std::string>> bad;
      if (hec) {
        bad = answer_for(hec);
        refused = bad.has_value();
        co_await send_refusal(stream, bad, 11);
        break;
      }
      const unsigned version = parser.get().version();
      const std::size_t header_fields = field_count(parser);
      ServerRequest sreq = head_of(parser.get(), remote);
      auto refusal = header_refusal(sreq);
      if (refusal) {
        co_await send(stream, std::move(*refusal), version, false);
        refused = true;
        break;
      }
      stream.expires_after(opts.body_timeout);
      auto [bec, bn] = co_await http::async_read(stream, buf, parser, kTuple);
      bad = body_refusal(bec, parser, header_fields);
      if (bec || bad) {
        refused = bad.has_value();
        co_await send_refusal(stream, bad, version);
        break;
      }
      const bool keep_alive = parser.get().keep_alive();
      sreq.body = std::move(parser.get().body());
      conn->busy = true;
      ServerResponse sres = co_await respond(sreq);
      const bool again = keep_alive && !stopping.load();
      bool written = co_await send(stream, std::move(sres), version, again);
      if (!written || !again) break;
    }
    if (refused) {
      conn->busy = false;
      co_await linger(stream);
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  void spawn_session(tcp::socket sock) {
    auto conn = std::make_shared<Conn>(std::move(sock));
    conn->pos = conns.insert(conns.end(), conn);
    report(ServerEvent::ConnectionOpened);
    // The exit handler, not the coroutine, releases the slot: it also runs when the coroutine threw.
    tasks.spawn(session(conn), [self = shared_from_this(), conn](std::exception_ptr e) {
      self->unlist(*conn);
      self->report(ServerEvent::ConnectionClosed);
      if (!e) return;
      self->report(ServerEvent::SessionFailed);
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("http_session_failed", {{"listener", self->opts.name}, {"error", ex.what()}});
      } catch (...) {
        log::error("http_session_failed", {{"listener", self->opts.name}, {"error", "unknown exception"}});
      }
    });
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer pause(ioc);
    std::chrono::milliseconds backoff{0};
    log::RateLimit failure_log(std::chrono::seconds(1));
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        // EMFILE/ENFILE/ENOBUFS last until something closes: retrying at once would spin. Consecutive
        // failures wait 10 ms, 20 ms, … up to 1 s; the connections wait in the listen backlog meanwhile.
        report(ServerEvent::AcceptError);
        backoff = next_backoff(backoff);
        std::size_t suppressed = 0;
        if (failure_log.allow(std::chrono::steady_clock::now(), suppressed))
          log::warn("http_accept_failed", {{"listener", opts.name},
                                           {"error", ec.message()},
                                           {"retry_ms", std::to_string(backoff.count())},
                                           {"suppressed", std::to_string(suppressed)}});
        pause.expires_after(backoff);
        co_await pause.async_wait(kTuple);
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      if (!make_room()) {
        beast::error_code ignored;
        sock.close(ignored);
        continue;
      }
      beast::error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      spawn_session(std::move(sock));
    }
  }
};

HttpServer::HttpServer(asio::io_context& ioc, tcp::endpoint ep, Handler h, Options o)
    : impl_(std::make_shared<Impl>(ioc, ep, std::move(h), o)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  auto& a = impl_->acceptor;
  a.open(impl_->endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(impl_->endpoint);
  a.listen(asio::socket_base::max_listen_connections);
  impl_->tasks.spawn(impl_->accept_loop(), [name = impl_->opts.name](std::exception_ptr e) {
    if (e) log::error("http_accept_loop_failed", {{"listener", name}});
  });
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  // The acceptor and the connection list belong to the io_context's thread.
  asio::dispatch(impl_->ioc, [self = impl_] {
    beast::error_code ec;
    self->acceptor.close(ec);
    self->close_idle();
  });
}

std::size_t HttpServer::connections() const { return impl_->conns.size(); }

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace dp::io
