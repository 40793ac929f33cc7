// CallWatch (session/call_watch): what the media sessions following a call see of it. A fresh copy is shared, a read
// checks the version and loads the whole record only when it moved, sessions asking during a read share it, a
// failed read reaches every session that waited on it, and a call gone is nullopt.
#include <doctest/doctest.h>

#include "app/session/call_watch.hpp"
#include "fakes/fake_call_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>

namespace asio = boost::asio;
using dp::app::CallStorePort;
using dp::app::CallWatch;
using namespace std::chrono_literals;

namespace {

// The fake store, but every read takes a millisecond, as a round trip does: sessions can ask during it.
class SlowStore final : public CallStorePort {
 public:
  SlowStore(asio::any_io_executor ex, dp::test::FakeCallStore& inner) : ex_(std::move(ex)), inner_(inner) {}
  asio::awaitable<std::optional<Versioned>> load(const std::string& sid) override {
    co_await pause();
    auto v = co_await inner_.load(sid);
    co_return v;
  }
  asio::awaitable<std::optional<long long>> version(const std::string& sid) override {
    co_await pause();
    auto v = co_await inner_.version(sid);
    co_return v;
  }
  asio::awaitable<std::optional<std::string>> sid_for_call_id(const std::string& id) override {
    auto v = co_await inner_.sid_for_call_id(id);
    co_return v;
  }
  asio::awaitable<std::optional<std::string>> sid_for_leg(const std::string& leg) override {
    auto v = co_await inner_.sid_for_leg(leg);
    co_return v;
  }
  asio::awaitable<std::vector<dp::core::CallState>> live_calls(const std::string& acct, std::size_t limit) override {
    auto v = co_await inner_.live_calls(acct, limit);
    co_return v;
  }
  asio::awaitable<CommitResult> commit(const dp::core::CallState& s, long long version, bool remove,
                                       const std::vector<dp::core::TimerOp>& timers,
                                       const std::vector<std::string>& jobs, long long now_ms,
                                       long long lease_ms) override {
    auto r = co_await inner_.commit(s, version, remove, timers, jobs, now_ms, lease_ms);
    co_return r;
  }

 private:
  asio::awaitable<void> pause() {
    asio::steady_timer t(ex_, 1ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  asio::any_io_executor ex_;
  dp::test::FakeCallStore& inner_;
};

struct World {
  asio::io_context ioc;
  dp::test::FakeCallStore store;
  SlowStore slow{ioc.get_executor(), store};

  template <class T>
  T run(asio::awaitable<T> aw) {
    auto fut = asio::co_spawn(ioc, std::move(aw), asio::use_future);
    ioc.restart();
    ioc.run();
    return fut.get();
  }
  // Stores (or moves on) the call "c1", its transcriptions paused or not.
  void put(bool paused) {
    dp::core::CallState s;
    s.call_sid = "c1";
    s.account_sid = "a1";
    s.transcribe_paused = paused;
    auto cur = run(store.load("c1"));
    bool ok = run(store.save(s, cur ? cur->version : 0));
    REQUIRE(ok);
  }
  void sleep(std::chrono::milliseconds d) {
    run([&]() -> asio::awaitable<void> {
      asio::steady_timer t(ioc.get_executor(), d);
      co_await t.async_wait(asio::use_awaitable);
    }());
  }
};

}  // namespace

TEST_CASE("CallWatch: a quiet call is read by its version; the record is loaded again only when it moved") {
  World w;
  w.put(true);
  CallWatch watch(w.ioc.get_executor(), w.store, 0ms);  // every ask reads
  auto first = w.run(watch.current("c1"));
  REQUIRE(first);
  CHECK(first->state.transcribe_paused);
  CHECK(w.store.version_reads == 1);
  CHECK(w.store.loads == 2);  // put()'s own load, then the watch's
  for (int i = 0; i < 5; ++i) {
    auto again = w.run(watch.current("c1"));
    REQUIRE(again);
    CHECK(again->version == first->version);
  }
  CHECK(w.store.version_reads == 6);
  CHECK(w.store.loads == 2);  // unchanged version: no load, no parse
  w.put(false);
  auto moved = w.run(watch.current("c1"));
  REQUIRE(moved);
  CHECK_FALSE(moved->state.transcribe_paused);
  CHECK(moved->version == first->version + 1);
}

TEST_CASE("CallWatch: a copy younger than fresh_for is shared without a read") {
  World w;
  w.put(false);
  CallWatch watch(w.ioc.get_executor(), w.store, 50ms);
  REQUIRE(w.run(watch.current("c1")));
  REQUIRE(w.run(watch.current("c1")));
  CHECK(w.store.version_reads == 1);
  w.sleep(60ms);
  REQUIRE(w.run(watch.current("c1")));
  CHECK(w.store.version_reads == 2);
  CHECK(watch.followed() == 1);
}

TEST_CASE("CallWatch: sessions asking during a read share it") {
  World w;
  w.put(false);
  CallWatch watch(w.ioc.get_executor(), w.slow, 0ms);
  int got = 0;
  auto ask = [&]() -> asio::awaitable<void> {
    auto v = co_await watch.current("c1");
    if (v && v->state.call_sid == "c1") ++got;
  };
  for (int i = 0; i < 3; ++i) asio::co_spawn(w.ioc, ask(), asio::detached);
  w.ioc.restart();
  w.ioc.run();
  CHECK(got == 3);
  CHECK(w.store.version_reads == 1);
  CHECK(w.store.loads == 2);  // put()'s and the one shared read's
}

TEST_CASE("CallWatch: a failed read reaches every session that waited on it; the next ask reads again") {
  World w;
  w.put(false);
  CallWatch watch(w.ioc.get_executor(), w.slow, 0ms);
  w.store.fail_next(dp::io::RedisError::Kind::Timeout);
  int failed = 0;
  auto ask = [&]() -> asio::awaitable<void> {
    try {
      co_await watch.current("c1");
    } catch (const dp::io::RedisError&) {
      ++failed;
    }
  };
  for (int i = 0; i < 2; ++i) asio::co_spawn(w.ioc, ask(), asio::detached);
  w.ioc.restart();
  w.ioc.run();
  CHECK(failed == 2);
  auto v = w.run(watch.current("c1"));
  CHECK(v);
}

TEST_CASE("CallWatch: a call removed from the store is nullopt") {
  World w;
  w.put(false);
  CallWatch watch(w.ioc.get_executor(), w.store, 0ms);
  REQUIRE(w.run(watch.current("c1")));
  auto cur = w.run(w.store.load("c1"));
  REQUIRE(cur);
  std::vector<dp::core::TimerOp> none_timers;
  std::vector<std::string> none_jobs;
  auto removed = w.run(w.store.commit(cur->state, cur->version, true, none_timers, none_jobs, 0, 0));
  REQUIRE(removed.ok);
  CHECK_FALSE(w.run(watch.current("c1")));
}
