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
#include "http_test_server.hpp"
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

using dp::test::kTuple;
using dp::test::Req;
using dp::test::Res;
using dp::test::TestCert;
using dp::test::TestServer;

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

  TEST_CASE("a request's own body cap overrides the client's; the error says the body was too large") {
    TestServer srv;
    srv.handler = [](const Req&, Res& r) { r.body() = std::string(5000, 'x'); };
    srv.start();
    asio::io_context ioc;
    HttpClient c(ioc.get_executor(), {});
    auto r = get(srv.url());
    r.max_body_bytes = 4999;
    bool too_large = false;
    try {
      send(ioc, c, r);
    } catch (const HttpError& e) {
      CHECK(e.kind == HttpError::Kind::Protocol);
      too_large = e.body_too_large;
    }
    CHECK(too_large);
    r.max_body_bytes = 5000;
    CHECK(send(ioc, c, r).body.size() == 5000);
    r.max_body_bytes = 0;  // the client's cap (1 MiB)
    CHECK(send(ioc, c, r).body.size() == 5000);
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
