#include "io/http_server.hpp"

#include "core/log.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>

namespace dp::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string ServerRequest::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

ServerResponse ServerResponse::json(int status, std::string body) {
  ServerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ServerResponse ServerResponse::error(int status, const std::string& message) {
  boost::json::object o;
  o["msg"] = message;
  return json(status, boost::json::serialize(o));
}

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& ioc;
  tcp::acceptor acceptor;
  tcp::endpoint endpoint;
  Handler handler;
  Options opts;
  std::atomic<bool> stopping{false};

  Impl(asio::io_context& c, tcp::endpoint ep, Handler h, Options o)
      : ioc(c), acceptor(c), endpoint(ep), handler(std::move(h)), opts(o) {}

  static ServerRequest to_request(http::request<http::string_body>& req, const std::string& remote) {
    ServerRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    auto parsed = boost::urls::parse_origin_form(r.target);
    if (parsed) {
      r.path = std::string(parsed->encoded_path().decode());
      for (auto p : parsed->params()) r.query[std::string(p.key)] = std::string(p.value);
    } else {
      r.path = r.target.substr(0, r.target.find('?'));
    }
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      r.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    r.body = std::move(req.body());
    r.remote_ip = remote;
    return r;
  }

  asio::awaitable<void> session(tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    std::string remote;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opts.max_body_bytes);
      stream.expires_after(opts.read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buf, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == http::error::body_limit) {
          http::response<http::string_body> res{http::status::payload_too_large, 11};
          res.set(http::field::content_type, "application/json");
          res.body() = R"({"msg":"request body too large"})";
          res.prepare_payload();
          stream.expires_after(std::chrono::seconds(5));
          co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        }
        break;
      }
      auto req = parser.release();
      bool keep_alive = req.keep_alive();
      unsigned version = req.version();
      ServerRequest sreq = to_request(req, remote);
      ServerResponse sres;
      try {
        sres = co_await handler(sreq);
      } catch (const std::exception& e) {
        log::error("http_handler_failed", {{"path", sreq.path}, {"error", e.what()}});
        sres = ServerResponse::error(500, "internal error");
      }
      http::response<http::string_body> res{static_cast<http::status>(sres.status), version};
      res.set(http::field::server, "dialplane");
      if (!sres.body.empty() || sres.status != 204) res.set(http::field::content_type, sres.content_type);
      for (auto& [k, v] : sres.headers) res.set(k, v);
      res.body() = std::move(sres.body);
      res.keep_alive(keep_alive && !stopping.load());
      res.prepare_payload();
      stream.expires_after(std::chrono::seconds(10));
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        log::warn("http_accept_failed", {{"error", ec.message()}});
        continue;
      }
      sock.set_option(tcp::no_delay(true));
      asio::co_spawn(ioc, session(std::move(sock)), asio::detached);
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
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace dp::io
