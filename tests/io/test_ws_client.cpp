// io/ws/ws_client against an in-test Beast websocket server on loopback: the handshake (Basic auth, subprotocol,
// path and query), text and binary both ways, the server closing, refusals (HTTP 401 on the upgrade, nothing
// listening, a server that never answers the upgrade: the connect deadline), and a write that cannot finish.
#include "io/ws/ws_client.hpp"

#include "io_test_util.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <doctest/doctest.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using dp::io::WsClient;
using dp::io::WsConnectOptions;
using dp::io::WsError;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Seen {
  std::string target, auth, protocol;
  std::vector<std::pair<bool, std::string>> got;  // (text, data)
  bool closed = false;
};

// Accepts one connection: `mode` "echo" answers each text with "echo:<text>" and closes after "bye";
// "refuse" answers the upgrade with 401; "silent" accepts TCP and never answers; "noread" upgrades, then never
// reads.
asio::awaitable<void> serve(tcp::acceptor& acc, std::string mode, Seen& seen) {
  auto [aec, sock] = co_await acc.async_accept(kTuple);
  if (aec) co_return;
  if (mode == "silent") {
    asio::steady_timer t(acc.get_executor(), std::chrono::seconds(5));
    co_await t.async_wait(kTuple);
    co_return;
  }
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  beast::tcp_stream stream(std::move(sock));
  auto [rec, rn] = co_await http::async_read(stream, buf, req, kTuple);
  if (rec) co_return;
  seen.target = std::string(req.target());
  seen.auth = std::string(req[http::field::authorization]);
  seen.protocol = std::string(req[http::field::sec_websocket_protocol]);
  if (mode == "refuse") {
    http::response<http::string_body> res{http::status::unauthorized, 11};
    res.body() = "no";
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
    co_return;
  }
  websocket::stream<beast::tcp_stream> ws(std::move(stream));
  std::string proto = seen.protocol;
  ws.set_option(websocket::stream_base::decorator([proto](websocket::response_type& r) {
    if (!proto.empty()) r.set(http::field::sec_websocket_protocol, proto);
  }));
  auto [hec] = co_await ws.async_accept(req, kTuple);
  if (hec) co_return;
  if (mode == "noread") {
    asio::steady_timer t(acc.get_executor(), std::chrono::seconds(8));
    co_await t.async_wait(kTuple);
    co_return;
  }
  for (;;) {
    beast::flat_buffer in;
    auto [ec, n] = co_await ws.async_read(in, kTuple);
    if (ec) {
      seen.closed = true;
      co_return;
    }
    std::string data = beast::buffers_to_string(in.data());
    seen.got.emplace_back(ws.got_text(), data);
    if (ws.got_text() && data == "bye") {
      websocket::close_reason why(websocket::close_code::normal);
      co_await ws.async_close(why, kTuple);
      seen.closed = true;
      co_return;
    }
    if (ws.got_text()) {
      ws.text(true);
      std::string reply = "echo:" + data;
      auto out = asio::buffer(reply);
      co_await ws.async_write(out, kTuple);
    }
  }
}

struct Server {
  asio::io_context& ioc;
  tcp::acceptor acc;
  Seen seen;
  explicit Server(asio::io_context& io, std::string mode)
      : ioc(io), acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc, serve(acc, std::move(mode), seen), asio::detached);
  }
  std::string url(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(acc.local_endpoint().port()) + path;
  }
};

}  // namespace

TEST_SUITE("ws_client") {
  TEST_CASE("handshake with Basic auth and subprotocol, text and binary both ways, server close") {
    asio::io_context ioc;
    Server srv(ioc, "echo");
    WsConnectOptions o;
    o.url = srv.url("/stream?a=1");
    o.username = "u";
    o.password = "p";
    o.subprotocol = "audio.jambonz.org";
    auto body = [&]() -> asio::awaitable<std::string> {
      auto ws = co_await WsClient::connect(ioc.get_executor(), o);
      CHECK(ws->open());
      CHECK(ws->subprotocol() == "audio.jambonz.org");
      std::string hello = "hello", pcm("\x01\x00\x02\x00", 4);
      bool ok = co_await ws->write(hello, true);
      CHECK(ok);
      auto m = co_await ws->read();
      REQUIRE(m);
      CHECK(m->text);
      CHECK(m->data == "echo:hello");
      ok = co_await ws->write(pcm, false);
      CHECK(ok);
      std::string bye = "bye";
      ok = co_await ws->write(bye, true);
      CHECK(ok);
      auto end = co_await ws->read();  // the server's close
      CHECK_FALSE(end);
      CHECK_FALSE(ws->open());
      co_return ws->closed_reason();
    };
    auto reason = dp::test::run(ioc, body());
    CHECK(reason == "closed by the server");
    CHECK(srv.seen.target == "/stream?a=1");
    CHECK(srv.seen.auth == "Basic dTpw");
    CHECK(srv.seen.protocol == "audio.jambonz.org");
    REQUIRE(srv.seen.got.size() == 3);
    CHECK_FALSE(srv.seen.got[1].first);
    CHECK(srv.seen.got[1].second == std::string("\x01\x00\x02\x00", 4));
  }

  TEST_CASE("refusals: HTTP 401 on the upgrade, nothing listening, a bad URL, a server that never upgrades") {
    asio::io_context ioc;
    auto attempt = [&](WsConnectOptions o) -> asio::awaitable<std::string> {
      try {
        auto ws = co_await WsClient::connect(ioc.get_executor(), o);
      } catch (const WsError& e) {
        co_return std::string(dp::io::to_string(e.kind)) + ": " + e.what();
      }
      co_return std::string("connected");
    };
    Server refuse(ioc, "refuse");
    WsConnectOptions o;
    o.url = refuse.url("/x");
    auto r = dp::test::run(ioc, attempt(o));
    CHECK(r.rfind("handshake:", 0) == 0);
    CHECK(r.find("401") != std::string::npos);

    o.url = "ws://127.0.0.1:" + std::to_string(dp::test::free_port()) + "/x";
    r = dp::test::run(ioc, attempt(o));
    CHECK(r.rfind("connect:", 0) == 0);

    o.url = "http://127.0.0.1/x";
    r = dp::test::run(ioc, attempt(o));
    CHECK(r.rfind("bad_url:", 0) == 0);

    Server silent(ioc, "silent");
    o.url = silent.url("/x");
    o.connect_timeout = std::chrono::milliseconds(300);
    auto t0 = std::chrono::steady_clock::now();
    r = dp::test::run(ioc, attempt(o));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.rfind("timeout:", 0) == 0);
    CHECK(took < std::chrono::seconds(2));
  }

  TEST_CASE("a server that stops reading: the write times out and the connection closes") {
    asio::io_context ioc;
    Server srv(ioc, "noread");
    WsConnectOptions o;
    o.url = srv.url("/x");
    o.write_timeout = std::chrono::milliseconds(300);
    auto body = [&]() -> asio::awaitable<int> {
      auto ws = co_await WsClient::connect(ioc.get_executor(), o);
      std::string big(1 << 20, 'x');
      int written = 0;
      for (int i = 0; i < 200; ++i) {  // 200 MB: far beyond the socket buffers
        bool ok = co_await ws->write(big, false);
        if (!ok) break;
        ++written;
      }
      CHECK_FALSE(ws->open());
      CHECK(ws->closed_reason() == "write timeout");
      co_return written;
    };
    auto t0 = std::chrono::steady_clock::now();
    int written = dp::test::run(ioc, body());
    CHECK(written < 200);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
}
