#include "io/ws/ws_client.hpp"

#include "core/encoding.hpp"
#include "io/tls_client_context.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url.hpp>

// Coroutines follow docs/coroutines.md: awaited values go into named locals before being tested, no temporaries
// in co_await expressions.

namespace dp::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kCloseTimeout = std::chrono::seconds(2);
}  // namespace

std::string_view to_string(WsError::Kind k) {
  switch (k) {
    case WsError::Kind::BadUrl:
      return "bad_url";
    case WsError::Kind::Resolve:
      return "resolve";
    case WsError::Kind::Connect:
      return "connect";
    case WsError::Kind::Tls:
      return "tls";
    case WsError::Kind::Timeout:
      return "timeout";
    case WsError::Kind::Handshake:
      return "handshake";
    case WsError::Kind::Closed:
      return "closed";
  }
  return "closed";
}

// The stream, plain or TLS, behind one interface.
struct Conn {
  virtual ~Conn() = default;
  virtual asio::awaitable<error_code> handshake(const std::string& host, const std::string& target,
                                               const WsConnectOptions& o, std::string& accepted,
                                               int& status) = 0;
  virtual asio::awaitable<error_code> write(const std::string& payload, bool text) = 0;
  virtual asio::awaitable<error_code> read(beast::flat_buffer& buf, bool& text) = 0;
  virtual asio::awaitable<error_code> close() = 0;
  virtual beast::tcp_stream& lowest() = 0;
};

template <class Stream>
struct ConnT final : Conn {
  template <class... Args>
  explicit ConnT(Args&&... args) : ws(std::forward<Args>(args)...) {}
  websocket::stream<Stream> ws;

  beast::tcp_stream& lowest() override { return beast::get_lowest_layer(ws); }

  asio::awaitable<error_code> handshake(const std::string& host, const std::string& target, const WsConnectOptions& o,
                                       std::string& accepted, int& status) override {
    // Beast's own timeouts would replace ours after the upgrade: none for idle (the listen ends the stream), the
    // handshake is bounded by the connect deadline's watchdog.
    websocket::stream_base::timeout t{};
    t.handshake_timeout = o.connect_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.read_message_max(o.read_limit);
    ws.auto_fragment(false);
    std::string auth;
    if (!o.username.empty()) auth = "Basic " + core::base64_encode(o.username + ":" + o.password);
    std::string ua = o.user_agent, proto = o.subprotocol;
    ws.set_option(websocket::stream_base::decorator([auth, ua, proto](websocket::request_type& req) {
      req.set(http::field::user_agent, ua);
      if (!auth.empty()) req.set(http::field::authorization, auth);
      if (!proto.empty()) req.set(http::field::sec_websocket_protocol, proto);
    }));
    websocket::response_type res;
    auto [ec] = co_await ws.async_handshake(res, host, target, kTuple);
    status = static_cast<int>(res.result_int());
    accepted = std::string(res[http::field::sec_websocket_protocol]);
    co_return ec;
  }

  asio::awaitable<error_code> write(const std::string& payload, bool text) override {
    ws.text(text);
    auto buf = asio::buffer(payload);
    auto [ec, n] = co_await ws.async_write(buf, kTuple);
    co_return ec;
  }

  asio::awaitable<error_code> read(beast::flat_buffer& buf, bool& text) override {
    auto [ec, n] = co_await ws.async_read(buf, kTuple);
    text = ws.got_text();
    co_return ec;
  }

  asio::awaitable<error_code> close() override {
    websocket::close_reason why(websocket::close_code::normal);
    auto [ec] = co_await ws.async_close(why, kTuple);
    co_return ec;
  }
};

struct WsClient::Impl : std::enable_shared_from_this<WsClient::Impl> {
  Impl(asio::any_io_executor e, WsConnectOptions o)
      : ex(e), opts(std::move(o)), tls_ctx(tls_client_context(opts.verify_tls)), resolver(e), write_timer(e) {}
  asio::any_io_executor ex;
  WsConnectOptions opts;
  ssl::context tls_ctx;
  tcp::resolver resolver;
  asio::steady_timer write_timer;
  std::unique_ptr<Conn> conn;
  bool is_open = false;
  bool closing = false;
  std::string reason;
  std::string accepted;

  void abort(const std::string& why) {
    if (reason.empty()) reason = why;
    is_open = false;
    resolver.cancel();
    if (conn) {
      error_code ec;
      conn->lowest().socket().close(ec);
    }
  }
};

namespace {

// A ws:// or wss:// URL taken apart once, for the resolver, TLS and the HTTP upgrade.
struct WsTarget {
  bool tls = false;
  std::string host;         // for the resolver, SNI and the certificate's name
  bool host_is_ip = false;  // no SNI for an IP literal (RFC 6066)
  std::string port;
  std::string target;       // path and query of the upgrade request
  std::string host_header;  // host[:port] as written
};

WsTarget ws_target(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || (u->scheme() != "ws" && u->scheme() != "wss") || u->host().empty())
    throw WsError(WsError::Kind::BadUrl, "not a ws:// or wss:// URL");
  WsTarget t;
  t.tls = u->scheme() == "wss";
  t.host = u->host_address();
  t.host_is_ip = u->host_type() == boost::urls::host_type::ipv4 || u->host_type() == boost::urls::host_type::ipv6;
  t.port = u->has_port() ? std::string(u->port()) : std::string(t.tls ? "443" : "80");
  t.target = std::string(u->encoded_path());
  if (t.target.empty()) t.target = "/";
  if (u->has_query()) t.target += "?" + std::string(u->encoded_query());
  t.host_header = std::string(u->encoded_host_and_port());
  return t;
}

// SNI, the server's name checked when verifying, then the TLS handshake. An error message, or empty.
asio::awaitable<std::string> tls_handshake(beast::ssl_stream<beast::tcp_stream>& s, const WsTarget& t, bool verify) {
  if (!t.host_is_ip && !SSL_set_tlsext_host_name(s.native_handle(), t.host.c_str())) co_return "cannot set TLS SNI";
  if (verify) s.set_verify_callback(ssl::host_name_verification(t.host));
  auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kTuple);
  co_return hec ? "TLS handshake failed: " + hec.message() : std::string();
}

}  // namespace

asio::awaitable<std::unique_ptr<WsClient>> WsClient::connect(asio::any_io_executor ex, WsConnectOptions opts) {
  const WsTarget t = ws_target(opts.url);
  auto impl = std::make_shared<Impl>(ex, std::move(opts));
  const auto& o = impl->opts;
  // The deadline of the whole connect: the watchdog aborts whatever is pending.
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer watchdog(ex, o.connect_timeout);
  std::weak_ptr<Impl> weak = impl;
  watchdog.async_wait([weak, timed_out](error_code ec) {
    if (ec) return;
    *timed_out = true;
    if (auto i = weak.lock()) i->abort("connect timeout");
  });
  auto fail = [&](WsError::Kind k, const std::string& what) {
    watchdog.cancel();
    if (*timed_out) return WsError(WsError::Kind::Timeout, "websocket connect timed out (" + what + ")");
    return WsError(k, what);
  };

  auto [rec, endpoints] = co_await impl->resolver.async_resolve(t.host, t.port, kTuple);
  if (rec || endpoints.empty()) throw fail(WsError::Kind::Resolve, "cannot resolve host: " + rec.message());
  using TlsConn = ConnT<beast::ssl_stream<beast::tcp_stream>>;
  if (t.tls) {
    impl->conn = std::make_unique<TlsConn>(ex, impl->tls_ctx);
  } else {
    impl->conn = std::make_unique<ConnT<beast::tcp_stream>>(ex);
  }
  if (*timed_out) throw fail(WsError::Kind::Timeout, "resolve");
  auto& low = impl->conn->lowest();
  auto [cec, ep] = co_await low.async_connect(endpoints, kTuple);
  if (cec) throw fail(WsError::Kind::Connect, "connect failed: " + cec.message());
  error_code ignored;
  low.socket().set_option(tcp::no_delay(true), ignored);
  if (t.tls) {
    auto why = co_await tls_handshake(static_cast<TlsConn&>(*impl->conn).ws.next_layer(), t, o.verify_tls);
    if (!why.empty()) throw fail(WsError::Kind::Tls, why);
  }
  int status = 0;
  std::string accepted;
  auto wec = co_await impl->conn->handshake(t.host_header, t.target, o, accepted, status);
  if (wec) {
    std::string what = "websocket handshake failed: " + wec.message();
    if (status != 0 && status != 101) what += " (HTTP " + std::to_string(status) + ")";
    throw fail(WsError::Kind::Handshake, what);
  }
  if (!o.subprotocol.empty() && !accepted.empty() && accepted != o.subprotocol)
    throw fail(WsError::Kind::Handshake, "the server chose another subprotocol: " + accepted.substr(0, 64));
  watchdog.cancel();
  if (*timed_out) throw fail(WsError::Kind::Timeout, "handshake");
  impl->accepted = std::move(accepted);
  impl->is_open = true;
  co_return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

WsClient::~WsClient() {
  if (impl_) impl_->abort("destroyed");
}

bool WsClient::open() const { return impl_->is_open; }
const std::string& WsClient::closed_reason() const { return impl_->reason; }
const std::string& WsClient::subprotocol() const { return impl_->accepted; }
void WsClient::abort() { impl_->abort("aborted"); }

asio::awaitable<bool> WsClient::write(const std::string& payload, bool text) {
  auto impl = impl_;
  if (!impl->is_open) co_return false;
  // A write that does not finish in time (a server that stopped reading) closes the connection.
  impl->write_timer.expires_after(impl->opts.write_timeout);
  std::weak_ptr<Impl> weak = impl;
  impl->write_timer.async_wait([weak](error_code ec) {
    if (ec) return;
    if (auto i = weak.lock()) i->abort("write timeout");
  });
  auto ec = co_await impl->conn->write(payload, text);
  impl->write_timer.cancel();
  if (ec) {
    impl->abort(ec.message());
    co_return false;
  }
  co_return impl->is_open;
}

asio::awaitable<std::optional<WsClient::Message>> WsClient::read() {
  auto impl = impl_;
  if (!impl->is_open) co_return std::nullopt;
  beast::flat_buffer buf;
  bool text = true;
  auto ec = co_await impl->conn->read(buf, text);
  if (ec) {
    impl->abort(ec == websocket::error::closed ? std::string("closed by the server") : ec.message());
    co_return std::nullopt;
  }
  Message m;
  m.data = beast::buffers_to_string(buf.data());
  m.text = text;
  co_return m;
}

asio::awaitable<void> WsClient::close() {
  auto impl = impl_;
  if (!impl->is_open || impl->closing) {
    impl->abort("closed");
    co_return;
  }
  impl->closing = true;
  asio::steady_timer guard(impl->ex, kCloseTimeout);
  std::weak_ptr<Impl> weak = impl;
  guard.async_wait([weak](error_code ec) {
    if (ec) return;
    if (auto i = weak.lock()) i->abort("close timeout");
  });
  auto ec = co_await impl->conn->close();
  guard.cancel();
  impl->abort(ec ? ec.message() : std::string("closed"));
}

}  // namespace dp::io
