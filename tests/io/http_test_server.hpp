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
  static const TestCert& get();
  std::string cert() const { return (dir / "cert.pem").string(); }
  std::string key() const { return (dir / "key.pem").string(); }
  ~TestCert();

 private:
  TestCert();
};

// Its coroutines are built once, in http_test_server.cpp: a TLS and a plain Beast server instantiated in every test
// file that uses it cost each of them about half a minute in the ASan build.
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

  explicit TestServer(bool tls = false);
  void start();
  ~TestServer();
  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Req> seen() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket sock);
  template <class Stream>
  asio::awaitable<void> serve(Stream& s);

  asio::io_context ioc_;
  tcp::acceptor acc_;
  std::optional<ssl::context> tls_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Req> seen_;
};

}  // namespace dp::test
