// TestServer's and TestCert's bodies (http_test_server.hpp).
#include "http_test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dp::test {

const TestCert& TestCert::get() {
  static TestCert c;
  return c;
}

TestCert::TestCert() {
  char tmpl[] = "/tmp/dp_io_tls_XXXXXX";
  dir = ::mkdtemp(tmpl);
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                    "subjectAltName=DNS:localhost -keyout '" + key() + "' -out '" + cert() +
                    "' >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

TestCert::~TestCert() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TestServer::TestServer(bool tls) : acc_(ioc_) {
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

void TestServer::start() {
  asio::co_spawn(ioc_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { ioc_.run(); });
}

TestServer::~TestServer() {
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> TestServer::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acc_.async_accept(kTuple);
    if (ec) co_return;
    ++accepted;
    asio::co_spawn(ioc_, session(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> TestServer::session(tcp::socket sock) {
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
asio::awaitable<void> TestServer::serve(Stream& s) {
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

}  // namespace dp::test
