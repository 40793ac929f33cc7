// Helpers shared by the adapter tests: drive a coroutine to completion, find free ports in 16000-16999.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <future>
#include <stdexcept>

namespace dp::test {

// Runs `aw` on `ioc` in this thread until it finishes (other work, e.g. a Redis connection, may stay).
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw,
      std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
  auto until = std::chrono::steady_clock::now() + limit;
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > until) throw std::runtime_error("test coroutine did not finish");
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(std::chrono::milliseconds(50));
  }
  return fut.get();
}

// Lets background work (reconnects, timers) progress for `d`.
inline void pump(boost::asio::io_context& ioc, std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_until(until);
  }
}

// Pumps until `pred()` or `limit`; returns pred().
template <class Pred>
bool pump_until(boost::asio::io_context& ioc, Pred pred, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < until) pump(ioc, std::chrono::milliseconds(10));
  return pred();
}

// The Redis the adapter tests may use (DP_TEST_REDIS_PORT, set by scripts/run-tests.sh); nullopt: skip.
inline std::optional<uint16_t> env_redis_port() {
  const char* env = std::getenv("DP_TEST_REDIS_PORT");
  if (!env || !*env) return std::nullopt;
  return static_cast<uint16_t>(std::atoi(env));
}

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

// A port in 16000-16999 nobody listens on right now. Starts at a pid-derived offset so concurrent test
// runs of different engineers rarely collide.
inline uint16_t free_port() {
  static int next = static_cast<int>(getpid() % 1000);
  for (int i = 0; i < 1000; ++i) {
    uint16_t port = static_cast<uint16_t>(16000 + (next++ % 1000));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no free port in 16000-16999");
}

}  // namespace dp::test
