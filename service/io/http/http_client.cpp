#include "io/http/http_client.hpp"

#include "io/tls_client_context.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <sys/socket.h>

#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "core/encoding.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace dp::io {
namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

struct Target {
  bool tls = false;
  bool host_is_ip = false;
  std::string host;         // for DNS, SNI and certificate checks (no IPv6 brackets)
  std::string host_header;  // as it goes into Host:
  uint16_t port = 0;
  std::string path;         // origin-form request target
  std::string origin;       // pool key
};

// Errors never quote the URL: webhook URLs may carry tokens in their query.
Target parse_target(const std::string& url) {
  auto r = boost::urls::parse_uri(url);  // URI, not absolute-URI: a #fragment is allowed and dropped
  if (!r) throw HttpError(HttpError::Kind::BadUrl, "bad URL: not an absolute URI");
  boost::urls::url_view u = *r;
  Target t;
  if (u.scheme_id() == boost::urls::scheme::https) t.tls = true;
  else if (u.scheme_id() != boost::urls::scheme::http)
    throw HttpError(HttpError::Kind::BadUrl, "bad URL: scheme must be http or https");
  if (u.has_userinfo()) throw HttpError(HttpError::Kind::BadUrl, "bad URL: userinfo is not allowed");
  t.host = u.host_address();
  if (t.host.empty()) throw HttpError(HttpError::Kind::BadUrl, "bad URL: missing host");
  for (auto& c : t.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t.host_is_ip = u.host_type() == boost::urls::host_type::ipv4 || u.host_type() == boost::urls::host_type::ipv6;
  uint16_t def = t.tls ? 443 : 80;
  t.port = def;
  if (u.has_port() && !u.port().empty()) {
    // port_number() silently wraps values above 65535, so the digits are checked here.
    std::string_view ps = u.port();
    unsigned long p = 0;
    auto [end, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), p);
    if (ec != std::errc{} || end != ps.data() + ps.size() || p == 0 || p > 65535)
      throw HttpError(HttpError::Kind::BadUrl, "bad URL: invalid port");
    t.port = static_cast<uint16_t>(p);
  }
  t.host_header = u.encoded_host();
  if (t.port != def) t.host_header += ":" + std::to_string(t.port);
  t.path = u.encoded_target();
  if (t.path.empty() || t.path.front() != '/') t.path.insert(0, "/");
  t.origin = std::string(t.tls ? "https://" : "http://") + t.host_header;
  if (t.port == def) t.origin += ":" + std::to_string(t.port);
  return t;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

bool is_field_value(std::string_view s) {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

struct Conn {
  std::optional<beast::tcp_stream> tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buf;
  Clock::time_point idle_since;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }

  // Cheap check for a pooled socket the server already closed (or wrote junk to) while it sat idle.
  bool looks_alive() {
    auto& sock = lowest().socket();
    if (!sock.is_open()) return false;
    char b;
    ssize_t n = ::recv(sock.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

constexpr auto kPeekAfterIdle = std::chrono::milliseconds(500);

// Failure of one attempt; `stale` marks a reused connection that died before any response byte arrived.
struct Failure {
  HttpError::Kind kind;
  std::string msg;
  bool stale = false;
  bool too_large = false;
};

bool is_closed_error(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
}

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, Options o)
      : ex(std::move(e)), opts(std::move(o)), tls_ctx(tls_client_context(opts.verify_tls)) {}

  asio::any_io_executor ex;
  Options opts;
  ssl::context tls_ctx;
  std::mutex mu;
  std::map<std::string, std::deque<std::unique_ptr<Conn>>> idle;  // newest at the back

  std::unique_ptr<Conn> take(const std::string& origin) {
    std::lock_guard lk(mu);
    prune_locked();
    auto it = idle.find(origin);
    while (it != idle.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      // A connection idle for less than kPeekAfterIdle is taken without the check's system call: servers keep
      // idle connections for seconds (Node 5 s, nginx 75 s), and a stale one still costs only the retry below.
      if (Clock::now() - c->idle_since < kPeekAfterIdle || c->looks_alive()) return c;
    }
    return nullptr;
  }

  void put(const std::string& origin, std::unique_ptr<Conn> c) {
    if (opts.max_idle_per_origin == 0) return;
    c->lowest().expires_never();
    c->idle_since = Clock::now();
    std::lock_guard lk(mu);
    prune_locked();
    auto& q = idle[origin];
    if (q.size() >= opts.max_idle_per_origin) q.pop_front();  // keep the freshest
    q.push_back(std::move(c));
  }

  // Peers that went silent past idle_timeout have probably closed on their side too.
  void drop_origin(const std::string& origin) {
    std::lock_guard lk(mu);
    idle.erase(origin);
  }

  void prune_locked() {
    auto now = Clock::now();
    for (auto it = idle.begin(); it != idle.end();) {
      auto& q = it->second;
      while (!q.empty() && now - q.front()->idle_since >= opts.idle_timeout) q.pop_front();
      it = q.empty() ? idle.erase(it) : std::next(it);
    }
  }

  // Resolves with a deadline. A timed-out lookup is abandoned, not awaited: getaddrinfo cannot be
  // interrupted, so waiting for cancellation could outlast the deadline.
  asio::awaitable<tcp::resolver::results_type> resolve(const Target& t, Clock::time_point deadline) {
    if (t.host_is_ip) {
      co_return tcp::resolver::results_type::create(tcp::endpoint(asio::ip::make_address(t.host), t.port), t.host,
                                                    std::to_string(t.port));
    }
    using Sig = void(error_code, tcp::resolver::results_type);
    struct State {
      explicit State(const asio::any_io_executor& e) : strand(asio::make_strand(e)), resolver(strand), timer(strand) {}
      asio::strand<asio::any_io_executor> strand;
      tcp::resolver resolver;
      asio::steady_timer timer;
      std::optional<asio::any_completion_handler<Sig>> handler;
      std::optional<asio::any_io_executor> work;
      void finish(error_code ec, tcp::resolver::results_type r) {
        if (!handler) return;
        auto h = std::move(*handler);
        handler.reset();
        auto w = std::move(*work);
        work.reset();
        asio::post(w, [h = std::move(h), ec, r = std::move(r), w]() mutable { std::move(h)(ec, std::move(r)); });
      }
    };
    auto st = std::make_shared<State>(ex);
    // Named locals, not temporaries in the co_await expression (docs/coroutines.md).
    auto initiate = [st, host = t.host, port = std::to_string(t.port), deadline](auto handler) {
          asio::any_io_executor w = asio::prefer(asio::get_associated_executor(handler, st->strand),
                                                 asio::execution::outstanding_work.tracked);
          asio::dispatch(st->strand, [st, h = asio::any_completion_handler<Sig>(std::move(handler)),
                                      w = std::move(w), host, port, deadline]() mutable {
            st->handler.emplace(std::move(h));
            st->work.emplace(std::move(w));
            st->timer.expires_at(deadline);
            st->timer.async_wait([st](error_code e) {
              if (!e) st->finish(asio::error::timed_out, {});
            });
            st->resolver.async_resolve(host, port, [st](error_code e, tcp::resolver::results_type r) {
              st->timer.cancel();
              st->finish(e, std::move(r));
            });
          });
    };
    auto op = asio::async_initiate<decltype(kTuple), Sig>(std::move(initiate), kTuple);
    auto [ec, results] = co_await std::move(op);
    if (ec == asio::error::timed_out) throw HttpError(HttpError::Kind::Timeout, "HTTP timeout while resolving");
    if (ec || results.empty()) throw HttpError(HttpError::Kind::Resolve, "cannot resolve host: " + ec.message());
    co_return results;
  }

  asio::awaitable<std::unique_ptr<Conn>> open(const Target& t, Clock::time_point deadline) {
    auto endpoints = co_await resolve(t, deadline);
    auto c = std::make_unique<Conn>();
    if (t.tls) c->tls.emplace(ex, tls_ctx);
    else c->tcp.emplace(ex);
    auto& low = c->lowest();
    low.expires_at(deadline);
    auto [ec, ep] = co_await low.async_connect(endpoints, kTuple);
    if (ec == beast::error::timeout) throw HttpError(HttpError::Kind::Timeout, "HTTP timeout while connecting");
    if (ec) throw HttpError(HttpError::Kind::Connect, "connect failed: " + ec.message());
    low.socket().set_option(tcp::no_delay(true), ec);
    if (t.tls) {
      auto& s = *c->tls;
      // SNI must be a DNS name (RFC 6066), never an IP literal.
      if (!t.host_is_ip && !SSL_set_tlsext_host_name(s.native_handle(), t.host.c_str()))
        throw HttpError(HttpError::Kind::Tls, "cannot set TLS SNI");
      if (opts.verify_tls) s.set_verify_callback(ssl::host_name_verification(t.host));
      low.expires_at(deadline);
      auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kTuple);
      if (hec == beast::error::timeout) throw HttpError(HttpError::Kind::Timeout, "HTTP timeout during TLS handshake");
      if (hec) throw HttpError(HttpError::Kind::Tls, "TLS handshake failed: " + hec.message());
    }
    co_return c;
  }

  template <class Stream>
  asio::awaitable<std::optional<Failure>> exchange(Stream& s, Conn& c, const http::request<http::string_body>& msg,
                                                   http::response_parser<http::string_body>& parser, bool reused,
                                                   Clock::time_point deadline) {
    c.lowest().expires_at(deadline);
    auto [wec, wn] = co_await http::async_write(s, msg, kTuple);
    if (wec == beast::error::timeout) co_return Failure{HttpError::Kind::Timeout, "HTTP timeout while sending"};
    if (wec) co_return Failure{HttpError::Kind::Protocol, "send failed: " + wec.message(), reused && is_closed_error(wec)};
    auto [rec, rn] = co_await http::async_read(s, c.buf, parser, kTuple);
    if (rec == beast::error::timeout) co_return Failure{HttpError::Kind::Timeout, "HTTP timeout waiting for response"};
    if (rec == http::error::body_limit)
      co_return Failure{HttpError::Kind::Protocol, "response body exceeds limit", false, true};
    if (rec)
      co_return Failure{HttpError::Kind::Protocol, "bad response: " + rec.message(),
                        reused && !parser.got_some() && is_closed_error(rec)};
    co_return std::nullopt;
  }

  http::request<http::string_body> build(HttpRequest& req, const Target& t) {
    if (!is_token(req.method)) throw HttpError(HttpError::Kind::Protocol, "invalid HTTP method");
    http::request<http::string_body> m;
    m.version(11);
    auto verb = http::string_to_verb(req.method);
    if (verb == http::verb::unknown) m.method_string(req.method);
    else m.method(verb);
    m.target(t.path);
    m.set(http::field::host, t.host_header);
    m.set(http::field::user_agent, opts.user_agent);
    for (auto& [name, value] : req.headers) {
      // Header names are safe to report; values may be secrets.
      if (!is_token(name)) throw HttpError(HttpError::Kind::Protocol, "invalid header name");
      if (!is_field_value(value)) throw HttpError(HttpError::Kind::Protocol, "invalid value for header " + name);
      // Framing and routing headers are ours.
      if (iequals(name, "host") || iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
          iequals(name, "connection"))
        continue;
      if (iequals(name, "user-agent")) m.set(http::field::user_agent, value);
      else m.insert(name, value);
    }
    if (!req.basic_auth_user.empty()) {
      if (!is_field_value(req.basic_auth_user) || !is_field_value(req.basic_auth_password))
        throw HttpError(HttpError::Kind::Protocol, "invalid basic auth credentials");
      m.set(http::field::authorization,
            "Basic " + core::base64_encode(req.basic_auth_user + ":" + req.basic_auth_password));
    }
    m.body() = std::move(req.body);
    m.keep_alive(true);
    m.prepare_payload();
    return m;
  }
};

HttpClient::HttpClient(asio::any_io_executor ex, Options opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

HttpClient::~HttpClient() = default;

asio::awaitable<HttpResponse> HttpClient::send(HttpRequest req) {
  auto self = impl_;
  const auto deadline = Clock::now() + req.timeout;
  Target t = parse_target(req.url);
  auto msg = self->build(req, t);
  const bool head = msg.method() == http::verb::head;

  for (int attempt = 0;; ++attempt) {
    // The retry always gets a fresh connection, so a whole pool of dead sockets costs one retry.
    std::unique_ptr<Conn> c = attempt == 0 ? self->take(t.origin) : nullptr;
    const bool reused = c != nullptr;
    if (!c) c = co_await self->open(t, deadline);

    http::response_parser<http::string_body> parser;
    parser.body_limit(req.max_body_bytes > 0 ? req.max_body_bytes : self->opts.max_body_bytes);
    parser.header_limit(64 * 1024);
    if (head) parser.skip(true);

    // Plain if/else, not `?:` with co_await in both arms (docs/coroutines.md).
    std::optional<Failure> f;
    if (c->tls) f = co_await self->exchange(*c->tls, *c, msg, parser, reused, deadline);
    else f = co_await self->exchange(*c->tcp, *c, msg, parser, reused, deadline);
    if (f) {
      if (f->stale && attempt == 0) {
        self->drop_origin(t.origin);
        continue;
      }
      throw HttpError(f->kind, f->msg, f->too_large);
    }

    auto& res = parser.get();
    HttpResponse out;
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    for (auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(res.body());
    // Bytes beyond the response mean the peer is out of sync with us: never reuse that connection.
    if (res.keep_alive() && !parser.need_eof() && c->buf.size() == 0) self->put(t.origin, std::move(c));
    co_return out;
  }
}

}  // namespace dp::io
