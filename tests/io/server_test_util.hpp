// Loopback HTTP test helpers: a blocking client socket, and an HttpServer running on its own thread the way
// main runs it (exceptions contained), counting the events it reports.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/http/http_server.hpp"
#include "io/run_contained.hpp"
#include "io_test_util.hpp"

namespace dp::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dp::io::HttpServer;
using dp::io::ServerEvent;
using dp::io::ServerRequest;
using dp::io::ServerResponse;


// A blocking loopback client socket with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close early; the caller checks the answer
      off += static_cast<std::size_t>(n);
    }
  }
  // Everything until the peer closes (or `limit` passes): the response(s), "" when closed without one.
  std::string read_all(std::chrono::milliseconds limit = 3000ms) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out_ = true;
        return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  // One response on a keep-alive connection: headers, then Content-Length bytes.
  std::string read_response(std::chrono::milliseconds limit = 3000ms) {
    std::string out;
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = out.find("Content-Length: ");
        std::size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool timed_out() const { return timed_out_; }

 private:
  int fd_ = -1;
  bool timed_out_ = false;
};

// `n` connections that have each sent `bytes`.
inline std::vector<std::unique_ptr<Client>> connect_all(uint16_t port, int n, const std::string& bytes) {
  std::vector<std::unique_ptr<Client>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(std::make_unique<Client>(port));
    out.back()->send(bytes);
  }
  return out;
}

// Polls `pred` (the server runs on its own thread) until true or `limit`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 2000ms) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  return pred();
}

inline int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

inline std::string get(const std::string& path, bool close = true) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
}

// An HttpServer with its own io_context on a thread, run the way main runs it (exceptions contained).
struct Served {
  asio::io_context ioc;
  std::unique_ptr<HttpServer> srv;
  std::thread thread;
  std::atomic<int> events[6] = {};
  std::atomic<int> contained{0};

  explicit Served(HttpServer::Options o = {}, dp::io::Handler h = nullptr) {
    if (!h) h = [](ServerRequest& r) -> asio::awaitable<ServerResponse> {
      if (r.path == "/slow") {
        asio::steady_timer t(co_await asio::this_coro::executor, 1500ms);
        co_await t.async_wait(asio::use_awaitable);
      }
      co_return ServerResponse::json(200, "{\"path\":\"" + r.path + "\",\"body\":" + std::to_string(r.body.size()) + "}");
    };
    o.observer = [this](std::string_view, ServerEvent ev) { ++events[static_cast<int>(ev)]; };
    srv = std::make_unique<HttpServer>(
        ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), dp::test::free_port()), h, std::move(o));
    srv->start();
    thread = std::thread([this] { dp::io::run_contained(ioc, [this](std::exception_ptr) { ++contained; }); });
  }
  ~Served() {
    ioc.stop();
    thread.join();
  }
  uint16_t port() const { return srv->port(); }
  int count(ServerEvent ev) const { return events[static_cast<int>(ev)].load(); }
  // A normal request on a new connection still gets its answer.
  bool serves() {
    Client c(port());
    c.send(get("/ok"));
    return status_of(c.read_all()) == 200;
  }
};


}  // namespace dp::test
