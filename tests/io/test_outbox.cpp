// The webhook outbox against a real Redis (DP_TEST_REDIS_PORT; skipped without it): a commit that takes the lease
// delivers its jobs from memory and acknowledges them in one command; jobs queued while a drain runs are picked up
// by its acknowledgement, in order; an outbox whose holder died (lease run out) is resumed by the poller.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/delivery/outbox.hpp"
#include "app/observability/metrics.hpp"
#include "app/store/call_store.hpp"
#include "io/clock.hpp"
#include "io_test_util.hpp"
#include "redis_test_world.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Lease = dp::app::CallStorePort::OutboxLease;

namespace {

// Records every request's Idempotency-Key; each takes `delay`.
struct RecordingSender final : dp::app::WebhookSenderPort {
  std::vector<std::string> keys;
  std::chrono::milliseconds delay{0};
  asio::awaitable<dp::app::HookResult> request(const std::string&, const dp::core::Hook&, const boost::json::object&,
                                               std::string_view, const std::string& key) override {
    if (delay.count() > 0) co_await dp::test::sleep_for(delay);
    keys.push_back(key);
    co_return dp::app::HookResult{true, 200, {}, {}};
  }
};

struct OutboxWorld : dp::test::RedisWorld {
  dp::app::Metrics metrics;
  dp::app::CallStore store{redis, keys, 600, metrics.redis()};
  dp::io::TaskGroup tasks{ioc.get_executor()};
  RecordingSender sender;
  dp::app::Outbox outbox{tasks, redis, sender, keys, metrics.redis()};
  dp::core::CallState call;
  long long version = 0;

  explicit OutboxWorld(uint16_t port) : RedisWorld(port, "dp_test_outbox") {
    call.call_sid = "call-o";
    call.call_id = "call-o@test";
    call.account_sid = "acct-1";
  }
  ~OutboxWorld() {
    tasks.cancel();  // before the Redis connection goes: the drains end at their next co_await
    dp::test::pump(ioc, std::chrono::milliseconds(50));
  }
  static std::string job(const std::string& id) {
    dp::core::Notification n;
    n.hook.url = "http://127.0.0.1:9/status";
    n.payload = {{"call_status", "ringing"}};
    return dp::app::Outbox::job(id, "acct-1", n);
  }
  // Commits the call with these jobs, as CallFlow::commit does, and hands them to the outbox.
  Lease commit(std::vector<std::string> ids, long long now_ms) {
    std::vector<std::string> jobs;
    for (const auto& id : ids) jobs.push_back(job(id));
    auto r = dp::test::run(ioc, store.commit(call, version, false, {}, jobs, now_ms, dp::app::OutboxPort::kLeaseMs));
    REQUIRE(r.ok);
    ++version;
    outbox.queued(call.call_sid, std::move(jobs), r.lease);
    return r.lease;
  }
  long long llen() { return cmd({"LLEN", keys.outbox(call.call_sid)}).integer; }
  bool due() { return !cmd({"ZSCORE", keys.outbox_due(), call.call_sid}).is_nil(); }
};

}  // namespace

TEST_CASE("Outbox: the committer delivers its jobs from memory and acknowledges them with one command") {
  auto port = dp::test::env_redis_port();
  if (!port) {
    MESSAGE("DP_TEST_REDIS_PORT not set: skipped");
    return;
  }
  OutboxWorld w(*port);
  // Scripts known to Redis first (a fresh Redis answers the first EVALSHA of each with NOSCRIPT).
  w.commit({"warm-1"}, dp::io::epoch_ms());
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.sender.keys.size() == 1 && w.outbox.active() == 0; }, 3000ms));
  w.sender.keys.clear();
  w.cmd({"CONFIG", "RESETSTAT"});
  CHECK(w.commit({"j-1", "j-2", "j-3"}, dp::io::epoch_ms()) == Lease::Fresh);
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.sender.keys.size() == 3 && w.outbox.active() == 0; }, 3000ms));
  CHECK(w.sender.keys == std::vector<std::string>{"j-1", "j-2", "j-3"});
  CHECK(w.llen() == 0);
  CHECK_FALSE(w.due());
  // Redis saw two requests for it all: the commit's script and the acknowledgement's, both by SHA1 (the test's
  // own CONFIG and INFO aside); nothing per job.
  auto stats = w.cmd({"INFO", "commandstats"}).str;
  CHECK(stats.find("cmdstat_evalsha:calls=2,") != std::string::npos);
  CHECK(stats.find("cmdstat_eval:") == std::string::npos);
  CHECK(stats.find("cmdstat_lpop") == std::string::npos);
  CHECK(stats.find("cmdstat_lindex:calls=1,") != std::string::npos);  // the acknowledgement's head check only
}

TEST_CASE("Outbox: jobs committed while a drain runs follow its jobs, in order, without a second drain") {
  auto port = dp::test::env_redis_port();
  if (!port) {
    MESSAGE("DP_TEST_REDIS_PORT not set: skipped");
    return;
  }
  OutboxWorld w(*port);
  w.sender.delay = 100ms;
  CHECK(w.commit({"a-1", "a-2"}, dp::io::epoch_ms()) == Lease::Fresh);
  dp::test::pump(w.ioc, 30ms);  // a-1 in flight
  CHECK(w.commit({"b-1"}, dp::io::epoch_ms()) == Lease::None);  // the drain holds the lease
  CHECK(w.commit({"c-1"}, dp::io::epoch_ms()) == Lease::None);
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.sender.keys.size() == 4 && w.outbox.active() == 0; }, 5000ms));
  CHECK(w.sender.keys == std::vector<std::string>{"a-1", "a-2", "b-1", "c-1"});
  CHECK(w.llen() == 0);
  CHECK_FALSE(w.due());
}

TEST_CASE("Outbox: an outbox whose holder died is resumed from the first unacknowledged job") {
  auto port = dp::test::env_redis_port();
  if (!port) {
    MESSAGE("DP_TEST_REDIS_PORT not set: skipped");
    return;
  }
  OutboxWorld w(*port);
  // Another instance committed two jobs and died before acknowledging them: its lease ran out a while ago.
  auto now = dp::io::epoch_ms();
  auto r = dp::test::run(w.ioc, w.store.commit(w.call, 0, false, {}, {OutboxWorld::job("d-1"), OutboxWorld::job("d-2")},
                                               now - 20000, dp::app::OutboxPort::kLeaseMs));
  REQUIRE(r.ok);
  w.version = 1;
  // This instance commits one more: the run-out lease is its now, with the backlog in front.
  CHECK(w.commit({"e-1"}, now) == Lease::Backlog);
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.sender.keys.size() == 3 && w.outbox.active() == 0; }, 3000ms));
  CHECK(w.sender.keys == std::vector<std::string>{"d-1", "d-2", "e-1"});

  // And without a new commit, the poller picks a run-out outbox up.
  r = dp::test::run(w.ioc, w.store.commit(w.call, 2, false, {}, {OutboxWorld::job("f-1")}, now - 20000,
                                          dp::app::OutboxPort::kLeaseMs));
  REQUIRE(r.ok);
  w.tasks.spawn(w.outbox.run(20ms), [](std::exception_ptr) {});
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.sender.keys.size() == 4; }, 3000ms));
  CHECK(w.sender.keys.back() == "f-1");
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return !w.due(); }, 3000ms));
  CHECK(w.llen() == 0);
}
