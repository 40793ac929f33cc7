// HttpClient (and KamailioRpc on top of it) against a real local HTTP/HTTPS server running in a thread.
#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "io/http/http_client.hpp"
#include "io/kamailio/kamailio_rpc.hpp"
#include "io_test_util.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using dp::io::HttpClient;
using dp::io::HttpError;
using dp::io::HttpRequest;
using dp::io::HttpResponse;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
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

HttpRequest get(const std::string& url) {
  HttpRequest r;
  r.method = "GET";
  r.url = url;
  return r;
}

HttpResponse send(asio::io_context& ioc, HttpClient& c, HttpRequest r) { return dp::test::run(ioc, c.send(std::move(r))); }

template <class F>
HttpError::Kind http_error_kind(F&& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const HttpError& e) {
    if (what) *what = e.what();
    return e.kind;
  }
  FAIL("no HttpError thrown");
  return HttpError::Kind::Protocol;
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("POST round trip: body, custom and automatic headers") {
    TestServer srv;
    srv.handler = [](const Req& q, Res& r) {
      r.result(http::status::created);
      r.set(http::field::content_type, "application/json");
      r.set("X-Reply", "yes");
      r.body() = "{\"got\":" + q.body() + "}";
    };
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    HttpRequest r;
    r.url = srv.url("/hook/path?x=1&y=%20z#frag");
    r.body = R"({"a":1})";
    r.headers = {{"Content-Type", "application/json"}, {"X-Custom", "v1"}, {"X-Custom", "v2"}};
    auto res = send(ioc, c, r);
    CHECK(res.status == 201);
    CHECK(res.content_type == "application/json");
    CHECK(res.body == R"({"got":{"a":1}})");
    bool found = false;
    for (auto& [k, v] : res.headers) found |= (k == "X-Reply" && v == "yes");
    CHECK(found);

    auto seen = srv.seen();
    REQUIRE(seen.size() == 1);
    auto& q = seen[0];
    CHECK(q.method() == http::verb::post);
    CHECK(q.target() == "/hook/path?x=1&y=%20z");
    CHECK(q[http::field::host] == "127.0.0.1:" + std::to_string(srv.port()));
    CHECK(q[http::field::user_agent] == "dialplane/0.1");
    CHECK(q[http::field::content_length] == "7");
    CHECK(q[http::field::content_type] == "application/json");
    CHECK(q.count("X-Custom") == 2);
    CHECK(q.count(http::field::authorization) == 0);
    CHECK(q.body() == R"({"a":1})");
  }

  TEST_CASE("any status is a response; GET has no body; user agent can be overridden") {
    TestServer srv;
    srv.handler = [](const Req&, Res& r) {
      r.result(http::status::not_found);
      r.body() = "nope";
    };
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    auto r = get(srv.url("/missing"));
    r.headers = {{"User-Agent", "custom/1"}, {"Host", "evil.example"}, {"Content-Length", "99"}};
    auto res = send(ioc, c, r);
    CHECK(res.status == 404);
    CHECK(res.body == "nope");
    auto q = srv.seen().at(0);
    CHECK(q.method() == http::verb::get);
    CHECK(q[http::field::user_agent] == "custom/1");
    CHECK(q[http::field::host] == "127.0.0.1:" + std::to_string(srv.port()));  // ours wins
    CHECK(q.count(http::field::content_length) == 0);
  }

  TEST_CASE("keep-alive: sequential requests share one connection") {
    TestServer srv;
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    for (int i = 0; i < 5; ++i) {
      auto r = get(srv.url("/" + std::to_string(i)));
      CHECK(send(ioc, c, r).status == 200);
    }
    CHECK(srv.accepted == 1);
    CHECK(srv.requests == 5);
  }

  TEST_CASE("pool is capped by max_idle_per_origin") {
    TestServer srv;
    srv.delay = 100ms;  // makes the concurrent requests overlap
    srv.start();
    asio::io_context ioc;
    HttpClient::Options o;
    o.max_idle_per_origin = 1;
    HttpClient c(ioc.get_executor(), o);
    auto burst = [&] {
      std::vector<std::future<HttpResponse>> fs;
      for (int i = 0; i < 3; ++i) fs.push_back(asio::co_spawn(ioc, c.send(get(srv.url())), asio::use_future));
      dp::test::pump_until(ioc, [&] {
        for (auto& f : fs)
          if (f.wait_for(0s) != std::future_status::ready) return false;
        return true;
      }, 5000ms);
      for (auto& f : fs) CHECK(f.get().status == 200);
    };
    burst();
    CHECK(srv.accepted == 3);
    burst();  // one pooled connection reused, two new ones
    CHECK(srv.accepted == 5);
  }

  TEST_CASE("idle pooled connections expire") {
    TestServer srv;
    srv.start();
    asio::io_context ioc;
    HttpClient::Options o;
    o.idle_timeout = 1s;
    HttpClient c(ioc.get_executor(), o);
    CHECK(send(ioc, c, get(srv.url())).status == 200);
    std::this_thread::sleep_for(1100ms);
    CHECK(send(ioc, c, get(srv.url())).status == 200);
    CHECK(srv.accepted == 2);
  }

  TEST_CASE("server closed an idle connection: a new one is used") {
    TestServer srv;
    srv.idle_close = 50ms;
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    CHECK(send(ioc, c, get(srv.url())).status == 200);
    std::this_thread::sleep_for(200ms);
    CHECK(send(ioc, c, get(srv.url())).status == 200);
    CHECK(srv.accepted == 2);
  }

  TEST_CASE("stale connection retry: server drops the request on a reused connection") {
    TestServer srv;
    srv.mode = TestServer::Mode::DropSecondRequest;
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    HttpRequest r;
    r.url = srv.url("/event");
    r.body = "one";
    CHECK(send(ioc, c, r).status == 200);
    r.body = "two";
    auto res = send(ioc, c, r);  // written to the pooled socket, server closes, retried once on a new one
    CHECK(res.status == 200);
    CHECK(res.body == "two");
    CHECK(srv.accepted == 2);
    CHECK(srv.requests == 3);
  }

  TEST_CASE("a fresh connection that drops the request is not retried") {
    TestServer srv;
    srv.mode = TestServer::Mode::DropSecondRequest;
    srv.start();
    asio::io_context ioc;
    HttpClient::Options o;
    o.max_idle_per_origin = 0;  // every request on a new connection, first request is always answered
    HttpClient c(ioc.get_executor(), o);
    CHECK(send(ioc, c, get(srv.url())).status == 200);
    CHECK(send(ioc, c, get(srv.url())).status == 200);
    CHECK(srv.accepted == 2);
  }

  TEST_CASE("timeout against a server that never answers") {
    TestServer srv;
    srv.mode = TestServer::Mode::Hang;
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    auto r = get(srv.url());
    r.timeout = 300ms;
    auto t0 = std::chrono::steady_clock::now();
    CHECK(http_error_kind([&] { send(ioc, c, r); }) == HttpError::Kind::Timeout);
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 280ms);
    CHECK(took < 1500ms);
  }

  TEST_CASE("connection refused") {
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    auto url = "http://127.0.0.1:" + std::to_string(dp::test::free_port()) + "/";
    CHECK(http_error_kind([&] { send(ioc, c, get(url)); }) == HttpError::Kind::Connect);
  }

  TEST_CASE("unresolvable host") {
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    auto k = http_error_kind([&] { send(ioc, c, get("http://no-such-host.invalid:16001/")); });
    CHECK((k == HttpError::Kind::Resolve || k == HttpError::Kind::Timeout));
  }

  TEST_CASE("basic auth header") {
    TestServer srv;
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    auto r = get(srv.url());
    r.basic_auth_user = "user";
    r.basic_auth_password = "p@ss:w0rd";
    CHECK(send(ioc, c, r).status == 200);
    CHECK(srv.seen().at(0)[http::field::authorization] == "Basic dXNlcjpwQHNzOncwcmQ=");
  }

  TEST_CASE("response body cap") {
    TestServer srv;
    srv.handler = [](const Req&, Res& r) { r.body() = std::string(5000, 'x'); };
    srv.start();
    asio::io_context ioc;
    HttpClient::Options o;
    o.max_body_bytes = 1000;
    HttpClient c(ioc.get_executor(), o);
    CHECK(http_error_kind([&] { send(ioc, c, get(srv.url())); }) == HttpError::Kind::Protocol);
  }

  TEST_CASE("bad URLs and header injection are rejected before any I/O") {
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    for (std::string url : {"ftp://127.0.0.1/x", "http://user:hunter2@127.0.0.1/", "not a url", "/relative/path",
                            "http://127.0.0.1:99999/", "mailto:a@b.c", "http://", ""}) {
      CAPTURE(url);
      std::string what;
      CHECK(http_error_kind([&] { send(ioc, c, get(url)); }, &what) == HttpError::Kind::BadUrl);
      CHECK(what.find("hunter2") == std::string::npos);
    }
    auto r = get("http://127.0.0.1:16001/");
    r.headers = {{"X-Evil", "a\r\nInjected: yes"}};
    CHECK(http_error_kind([&] { send(ioc, c, r); }) == HttpError::Kind::Protocol);
    r.headers = {{"Bad Name", "x"}};
    CHECK(http_error_kind([&] { send(ioc, c, r); }) == HttpError::Kind::Protocol);
  }

  TEST_CASE("HTTPS: verify_tls=false works and reuses the connection, verify_tls=true rejects self-signed") {
    TestServer srv(true);
    srv.start();
    asio::io_context ioc;
    {
      HttpClient::Options o;
      o.verify_tls = false;
      HttpClient c(ioc.get_executor(), o);
      HttpRequest r;
      r.url = srv.url("/secure");
      r.body = "over tls";
      auto res = send(ioc, c, r);
      CHECK(res.status == 200);
      CHECK(res.body == "over tls");
      CHECK(send(ioc, c, r).status == 200);
      CHECK(srv.accepted == 1);
    }
    {
      HttpClient c(ioc.get_executor(), {});
      std::string what;
      CHECK(http_error_kind([&] { send(ioc, c, get(srv.url())); }, &what) == HttpError::Kind::Tls);
      MESSAGE(what);
      auto url = "https://localhost:" + std::to_string(srv.port()) + "/";  // DNS name: SNI path
      CHECK(http_error_kind([&] { send(ioc, c, get(url)); }) == HttpError::Kind::Tls);
    }
  }
}

TEST_CASE("HTTPS with a trusted CA: host name is checked" * doctest::test_suite("http")) {
  TestServer srv(true);
  srv.start();
  asio::io_context ioc;
  // OpenSSL's default verify paths honour SSL_CERT_FILE: trust our self-signed cert for this client only.
  ::setenv("SSL_CERT_FILE", TestCert::get().cert().c_str(), 1);
  HttpClient c(ioc.get_executor(), {});
  ::unsetenv("SSL_CERT_FILE");
  auto ok = "https://localhost:" + std::to_string(srv.port()) + "/";
  CHECK(send(ioc, c, get(ok)).status == 200);
  // Same certificate, but it does not name 127.0.0.1.
  std::string what;
  CHECK(http_error_kind([&] { send(ioc, c, get(srv.url())); }, &what) == HttpError::Kind::Tls);
  MESSAGE(what);
}

TEST_SUITE("kamailio_rpc") {
  TEST_CASE("result, error member (also on HTTP 404), unique ids, transport errors") {
    TestServer srv;
    srv.handler = [](const Req& q, Res& r) {
      auto body = boost::json::parse(q.body()).as_object();
      boost::json::object out{{"jsonrpc", "2.0"}, {"id", body.at("id")}};
      auto method = body.at("method").as_string();
      if (method == "core.echo") {
        out["result"] = body.at("params");
      } else if (method == "dlg.end_dlg") {
        r.result(http::status::not_found);  // jsonrpcs mirrors the RPC error code in the HTTP status
        out["error"] = {{"code", 404}, {"message", "Dialog not found"}};
      } else if (method == "bad.id") {
        out["id"] = 999999;
        out["result"] = "x";
      } else {
        r.result(http::status::internal_server_error);
        r.body() = "<html>oops</html>";
        return;
      }
      r.set(http::field::content_type, "application/json");
      r.body() = boost::json::serialize(out);
    };
    srv.start();
    asio::io_context ioc;
    HttpClient http(ioc.get_executor(), {});
    dp::io::KamailioRpc rpc(http);

    auto v = dp::test::run(ioc, rpc.call(srv.url("/RPC"), "core.echo", boost::json::array{"location", 7}));
    CHECK(v == boost::json::value(boost::json::array{"location", 7}));
    dp::test::run(ioc, rpc.call(srv.url("/RPC"), "core.echo", {}));

    try {
      dp::test::run(ioc, rpc.call(srv.url("/RPC"), "dlg.end_dlg", boost::json::array{1, 2, "Reason: x\r\n"}));
      FAIL("expected RpcError");
    } catch (const dp::io::RpcError& e) {
      CHECK(e.code == 404);
      CHECK(e.message == "Dialog not found");
    }
    CHECK(http_error_kind([&] { dp::test::run(ioc, rpc.call(srv.url("/RPC"), "bad.id", {})); }) ==
          HttpError::Kind::Protocol);
    CHECK(http_error_kind([&] { dp::test::run(ioc, rpc.call(srv.url("/RPC"), "html.error", {})); }) ==
          HttpError::Kind::Protocol);

    auto seen = srv.seen();
    REQUIRE(seen.size() == 5);
    std::set<int64_t> ids;
    for (auto& q : seen) {
      CHECK(q.method() == http::verb::post);
      CHECK(q.target() == "/RPC");
      CHECK(q[http::field::content_type] == "application/json");
      auto o = boost::json::parse(q.body()).as_object();
      CHECK(o.at("jsonrpc") == "2.0");
      ids.insert(o.at("id").as_int64());
    }
    CHECK(ids.size() == 5);

    auto dead = "http://127.0.0.1:" + std::to_string(dp::test::free_port()) + "/RPC";
    CHECK(http_error_kind([&] { dp::test::run(ioc, rpc.call(dead, "core.echo", {})); }) == HttpError::Kind::Connect);
  }
}
