// A real HTTP/1.1 (+TLS) test server on 127.0.0.1 for the client-side adapter tests (HttpClient, KamailioRpc,
// MediaCache): scripted handler, request log, hang/drop modes, and a raw mode that writes its own bytes.
#pragma once
#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <thread>
#include <vector>

#include "io_test_util.hpp"

namespace dp::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Req = http::request<http::string_body>;
using Res = http::response<http::string_body>;

// Self-signed certificate for "localhost", made once per test run with the openssl CLI.
struct TestCert {
  std::filesystem::path dir;
  static const TestCert& get() {
    static TestCert c;
    return c;
  }
  std::string cert() const { return (dir / "cert.pem").string(); }
  std::string key() const { return (dir / "key.pem").string(); }

 private:
  TestCert() {
    char tmpl[] = "/tmp/dp_io_tls_XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                      "subjectAltName=DNS:localhost -keyout '" + key() + "' -out '" + cert() +
                      "' >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }

 public:
  ~TestCert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

class TestServer {
 public:
  enum class Mode { Respond, Hang, DropSecondRequest };
  Mode mode = Mode::Respond;
  std::chrono::milliseconds delay{0};       // before each response
  std::chrono::milliseconds idle_close{0};  // close a keep-alive connection idle this long
  std::function<void(const Req&, Res&)> handler = [](const Req& q, Res& r) {
    r.result(http::status::ok);
    r.set(http::field::content_type, "text/plain");
    r.body() = q.body();
  };
  // Raw mode (plain TCP only): after reading a request, this writes whatever bytes it likes, then the
  // connection closes. For bodies bigger than announced, never-ending bodies and the like.
  std::function<asio::awaitable<void>(beast::tcp_stream&, const Req&)> raw;
  std::atomic<int> accepted{0};
  std::atomic<int> requests{0};

  explicit TestServer(bool tls = false) : acc_(ioc_) {
    if (tls) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain_file(TestCert::get().cert());
      tls_->use_private_key_file(TestCert::get().key(), ssl::context::pem);
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), dp::test::free_port());
    acc_.open(ep.protocol());
    acc_.set_option(tcp::acceptor::reuse_address(true));
    acc_.bind(ep);
    acc_.listen();
    port_ = acc_.local_endpoint().port();
  }
  void start() {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Req> seen() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acc_.async_accept(kTuple);
      if (ec) co_return;
      ++accepted;
      asio::co_spawn(ioc_, session(std::move(sock)), asio::detached);
    }
  }
  asio::awaitable<void> session(tcp::socket sock) {
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> s(std::move(sock), *tls_);
      beast::get_lowest_layer(s).expires_after(5s);
      auto [ec] = co_await s.async_handshake(ssl::stream_base::server, kTuple);
      if (ec) co_return;
      co_await serve(s);
    } else {
      beast::tcp_stream s(std::move(sock));
      co_await serve(s);
    }
  }
  template <class Stream>
  asio::awaitable<void> serve(Stream& s) {
    beast::flat_buffer buf;
    for (int n = 0;; ++n) {
      Req req;
      if (n > 0 && idle_close.count() > 0) beast::get_lowest_layer(s).expires_after(idle_close);
      else beast::get_lowest_layer(s).expires_after(30s);
      auto [ec, rn] = co_await http::async_read(s, buf, req, kTuple);
      if (ec) co_return;
      ++requests;
      {
        std::lock_guard lk(mu_);
        seen_.push_back(req);
      }
      if (mode == Mode::DropSecondRequest && n == 1) co_return;  // like a server that timed the socket out
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        if (raw) {
          co_await raw(s, req);
          co_return;
        }
      }
      if (mode == Mode::Hang) {
        asio::steady_timer t(co_await asio::this_coro::executor, 30s);
        co_await t.async_wait(kTuple);
        co_return;
      }
      if (delay.count() > 0) {
        asio::steady_timer t(co_await asio::this_coro::executor, delay);
        co_await t.async_wait(kTuple);
      }
      Res res{http::status::ok, 11};
      handler(req, res);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      beast::get_lowest_layer(s).expires_after(5s);
      auto [wec, wn] = co_await http::async_write(s, res, kTuple);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acc_;
  std::optional<ssl::context> tls_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Req> seen_;
};

}  // namespace dp::test
