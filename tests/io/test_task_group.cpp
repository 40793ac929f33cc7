// io::TaskGroup: owned coroutines that can be cancelled and waited for, and an HttpServer whose accept loop and
// connections are tasks of a group (the service's drain).
#include <doctest/doctest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

#include "io/task_group.hpp"
#include "io_test_util.hpp"
#include "server_test_util.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dp::io::TaskGroup;

namespace {

// What on_exit saw.
struct Exit {
  int calls = 0;
  std::string error;  // "" = no exception
  auto handler() {
    return [this](std::exception_ptr e) {
      ++calls;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        error = ex.what();
      }
    };
  }
};

asio::awaitable<void> sleeper(std::chrono::milliseconds d, int* reached_end) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
  ++*reached_end;
}

// Ignores the timer's abort (as_tuple) and sleeps again: the second co_await must throw once cancelled.
asio::awaitable<void> stubborn(int* rounds) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (;;) {
    t.expires_after(10s);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    ++*rounds;
  }
}

asio::awaitable<void> thrower() {
  co_await dp::test::sleep_for(1ms);
  throw std::runtime_error("boom");
}

}  // namespace

TEST_CASE("TaskGroup: wait_until returns once every task has ended") {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  Exit a, b;
  int ended = 0;
  group.spawn(sleeper(20ms, &ended), a.handler());
  group.spawn(sleeper(40ms, &ended), b.handler());
  CHECK(group.size() == 2);
  auto started = std::chrono::steady_clock::now();
  bool all = dp::test::run(ioc, group.wait_until(std::chrono::steady_clock::now() + 5s));
  CHECK(all);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(ended == 2);
  CHECK(group.size() == 0);
  CHECK(a.calls == 1);
  CHECK(a.error.empty());
}

TEST_CASE("TaskGroup: wait_until gives up at the deadline") {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  Exit a;
  int ended = 0;
  group.spawn(sleeper(10s, &ended), a.handler());
  auto started = std::chrono::steady_clock::now();
  bool all = dp::test::run(ioc, group.wait_until(std::chrono::steady_clock::now() + 100ms));
  CHECK_FALSE(all);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(group.size() == 1);
  group.cancel();
  CHECK(dp::test::run(ioc, group.wait_until(std::chrono::steady_clock::now() + 2s)));
  CHECK(ended == 0);
}

TEST_CASE("TaskGroup: cancel ends every task; cancellation is not reported as a failure") {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  Exit a, b, c;
  int ended = 0, rounds = 0;
  group.spawn(sleeper(10s, &ended), a.handler());
  group.spawn(stubborn(&rounds), b.handler());
  group.spawn(thrower(), c.handler());
  dp::test::pump(ioc, 50ms);
  CHECK(c.calls == 1);
  CHECK(c.error == "boom");  // a real failure is reported
  auto started = std::chrono::steady_clock::now();
  group.cancel();
  CHECK(dp::test::run(ioc, group.wait_until(std::chrono::steady_clock::now() + 5s)));
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(ended == 0);
  CHECK(rounds == 1);  // resumed once with the abort, then its next co_await threw
  CHECK(a.calls == 1);
  CHECK(a.error.empty());
  CHECK(b.calls == 1);
  CHECK(b.error.empty());

  // Spawned after cancel(): starts cancelled.
  Exit late;
  group.spawn(sleeper(10s, &ended), late.handler());
  CHECK(dp::test::run(ioc, group.wait_until(std::chrono::steady_clock::now() + 2s)));
  CHECK(late.calls == 1);
  CHECK(ended == 0);
}

TEST_CASE("TaskGroup: a handle cancels its task only") {
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  Exit loop, other;
  int ended = 0;
  auto handle = group.spawn(sleeper(10s, &ended), loop.handler());
  group.spawn(sleeper(100ms, &ended), other.handler());
  handle.cancel();
  dp::test::pump_until(ioc, [&] { return loop.calls == 1; }, 1000ms);
  CHECK(loop.calls == 1);
  CHECK(loop.error.empty());
  CHECK(other.calls == 0);
  CHECK(dp::test::run(ioc, group.wait_until(std::chrono::steady_clock::now() + 2s)));
  CHECK(ended == 1);
  handle.cancel();  // after the task ended: nothing happens
}

TEST_CASE("HttpServer in a TaskGroup: stop() closes idle connections, a busy one answers, the group empties") {
  using namespace dp::test;
  asio::io_context ioc;
  TaskGroup group(ioc.get_executor());
  dp::io::HttpServer::Options o;
  o.tasks = &group;
  dp::io::Handler h = [](ServerRequest& r) -> asio::awaitable<ServerResponse> {
    if (r.path == "/slow") co_await sleep_for(300ms);
    co_return ServerResponse::json(200, "{}");
  };
  HttpServer srv(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), free_port()), h, o);
  srv.start();
  auto work = asio::make_work_guard(ioc);  // the io_context keeps running after every task has ended
  std::thread thread([&] { ioc.run_for(10s); });

  Client idle(srv.port());
  idle.send(get("/ok", false));
  CHECK(status_of(idle.read_response()) == 200);  // keep-alive: the connection stays open, idle
  Client busy(srv.port());
  busy.send(get("/slow", false));
  std::this_thread::sleep_for(100ms);  // /slow is being handled
  CHECK(eventually([&] { return srv.connections() == 2; }));

  asio::post(ioc, [&] { srv.stop(); });
  CHECK(idle.read_all(2000ms).empty());  // closed without an answer
  CHECK_FALSE(idle.timed_out());
  auto answer = busy.read_all(2000ms);  // answered, then closed (no keep-alive while stopping)
  CHECK(status_of(answer) == 200);
  CHECK_FALSE(busy.timed_out());
  CHECK(eventually([&] { return srv.connections() == 0; }));

  std::promise<bool> emptied;
  asio::co_spawn(ioc, group.wait_until(std::chrono::steady_clock::now() + 2s),
                 [&](std::exception_ptr, bool all) { emptied.set_value(all); });
  auto f = emptied.get_future();
  REQUIRE(f.wait_for(3s) == std::future_status::ready);
  CHECK(f.get());  // the accept loop and both sessions have ended
  ioc.stop();
  thread.join();
}
