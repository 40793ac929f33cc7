// CallStore's indices against a real Redis (DP_TEST_REDIS_PORT; skipped without it): a leg's sid finds its call,
// the account lists its live calls, and the deletion of a call takes every index it wrote with it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstdlib>
#include <string>

#include "app/observability/metrics.hpp"
#include "app/store/call_store.hpp"
#include "io_test_util.hpp"
#include "redis_test_world.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct StoreWorld : dp::test::RedisWorld {
  dp::app::Metrics metrics;
  dp::app::CallStore store{redis, keys, 600, metrics.redis()};

  explicit StoreWorld(uint16_t port) : RedisWorld(port, "dp_test_calls") {}
  bool commit(const dp::core::CallState& c, long long version, bool remove = false) {
    return dp::test::run(ioc, store.commit(c, version, remove, {}, {}, 0, 0)).ok;
  }
  dp::app::CallStorePort::CommitResult commit_jobs(const dp::core::CallState& c, long long version,
                                                   std::vector<std::string> jobs, long long now_ms) {
    return dp::test::run(ioc, store.commit(c, version, false, {}, jobs, now_ms, 10000));
  }
  std::optional<std::string> parent_of(const std::string& leg) { return dp::test::run(ioc, store.sid_for_leg(leg)); }
  std::vector<dp::core::CallState> live(const std::string& account, std::size_t limit = 10) {
    return dp::test::run(ioc, store.live_calls(account, limit));
  }
};

dp::core::CallState call(const std::string& sid, double created, std::vector<std::string> legs) {
  dp::core::CallState c;
  c.call_sid = sid;
  c.account_sid = "acct-1";
  c.call_id = sid + "@caller.test";
  c.created_at = created;
  if (!legs.empty()) {
    dp::core::Dial d;
    d.seq = 1;
    for (std::size_t i = 0; i < legs.size(); ++i) {
      dp::core::Leg l;
      l.index = static_cast<int>(i);
      l.call_sid = legs[i];
      d.legs.push_back(l);
    }
    c.dial = d;
  }
  return c;
}

}  // namespace

TEST_CASE("CallStore indices: leg sids, the account's live calls, deletion with the call") {
  auto port = dp::test::env_redis_port();
  if (!port) {
    MESSAGE("DP_TEST_REDIS_PORT not set: skipped");
    return;
  }
  StoreWorld w(*port);

  auto a = call("call-a", 1000.0, {});
  REQUIRE(w.commit(a, 0));
  a = call("call-a", 1000.0, {"leg-a0", "leg-a1"});
  REQUIRE(w.commit(a, 1));
  CHECK(w.parent_of("leg-a0") == std::optional<std::string>("call-a"));
  CHECK(w.parent_of("leg-a1") == std::optional<std::string>("call-a"));
  CHECK_FALSE(w.parent_of("leg-none"));
  auto ttl = w.cmd({"TTL", w.keys.child("leg-a0")});
  CHECK(ttl.integer > 0);
  CHECK(ttl.integer <= 600);  // expires with the call

  // A second dial: its legs are indexed too, the first dial's stay until the call goes.
  a.dial->seq = 2;
  a.dial->legs[0].call_sid = "leg-a2";
  a.dial->legs.pop_back();
  REQUIRE(w.commit(a, 2));
  CHECK(w.parent_of("leg-a2") == std::optional<std::string>("call-a"));
  CHECK(w.parent_of("leg-a1") == std::optional<std::string>("call-a"));

  auto b = call("call-b", 900.0, {"leg-b0"});  // created earlier: listed first
  REQUIRE(w.commit(b, 0));
  auto live = w.live("acct-1");
  REQUIRE(live.size() == 2);
  CHECK(live[0].call_sid == "call-b");
  CHECK(live[1].call_sid == "call-a");
  CHECK(w.live("acct-1", 1).size() == 1);
  CHECK(w.live("acct-other").empty());

  // The deletion takes every leg index the call ever wrote, and its place in the list.
  REQUIRE(w.commit(a, 3, true));
  for (const char* leg : {"leg-a0", "leg-a1", "leg-a2"}) CHECK_FALSE(w.parent_of(leg));
  CHECK(w.cmd({"EXISTS", w.keys.children("call-a")}).integer == 0);
  live = w.live("acct-1");
  REQUIRE(live.size() == 1);
  CHECK(live[0].call_sid == "call-b");

  // A call whose record expired without a deletion is dropped from the list when met.
  w.cmd({"DEL", w.keys.call("call-b")});
  CHECK(w.live("acct-1").empty());
  CHECK(w.cmd({"ZCARD", w.keys.account_calls("acct-1")}).integer == 0);
}

TEST_CASE("CallStore listing skips expired members without losing its page") {
  auto port = dp::test::env_redis_port();
  if (!port) {
    MESSAGE("DP_TEST_REDIS_PORT not set: skipped");
    return;
  }
  StoreWorld w(*port);
  for (int i = 0; i < 6; ++i) REQUIRE(w.commit(call("c" + std::to_string(i), 100.0 + i, {}), 0));
  for (int i : {0, 1, 3}) w.cmd({"DEL", w.keys.call("c" + std::to_string(i))});
  auto live = w.live("acct-1", 2);
  REQUIRE(live.size() == 2);
  CHECK(live[0].call_sid == "c2");
  CHECK(live[1].call_sid == "c4");
  CHECK(w.live("acct-1", 10).size() == 3);
}

TEST_CASE("CallStore commit: a conflict returns the stored call; the outbox lease goes to the first committer") {
  auto port = dp::test::env_redis_port();
  if (!port) {
    MESSAGE("DP_TEST_REDIS_PORT not set: skipped");
    return;
  }
  using Lease = dp::app::CallStorePort::OutboxLease;
  StoreWorld w(*port);
  auto a = call("call-l", 1000.0, {});
  a.from = "first";
  REQUIRE(w.commit(a, 0));
  a.from = "second";
  REQUIRE(w.commit(a, 1));

  // Stale version: nothing written, the stored state and version come back.
  auto stale = call("call-l", 1000.0, {});
  stale.from = "stale";
  auto r = w.commit_jobs(stale, 1, {"job-x"}, 5000);
  CHECK_FALSE(r.ok);
  REQUIRE(r.current);
  CHECK(r.current->version == 2);
  CHECK(r.current->state.from == "second");
  CHECK(w.cmd({"LLEN", w.keys.outbox("call-l")}).integer == 0);
  // A call that does not exist: a conflict without a current state.
  auto gone = w.commit_jobs(call("call-none", 1.0, {}), 3, {}, 5000);
  CHECK_FALSE(gone.ok);
  CHECK_FALSE(gone.current);

  // Free lease, empty outbox: the committer's, its jobs are the whole outbox.
  r = w.commit_jobs(a, 2, {"job-1", "job-2"}, 5000);
  REQUIRE(r.ok);
  CHECK(r.lease == Lease::Fresh);
  CHECK(w.cmd({"ZSCORE", w.keys.outbox_due(), "call-l"}).str == "15000");
  // Held (its end is in the future): the holder delivers the new job after its own.
  r = w.commit_jobs(a, 3, {"job-3"}, 6000);
  REQUIRE(r.ok);
  CHECK(r.lease == Lease::None);
  CHECK(w.cmd({"ZSCORE", w.keys.outbox_due(), "call-l"}).str == "15000");
  // Run out (the holder died) with jobs still waiting: the next committer takes it, from the backlog.
  r = w.commit_jobs(a, 4, {"job-4"}, 16000);
  REQUIRE(r.ok);
  CHECK(r.lease == Lease::Backlog);
  CHECK(w.cmd({"ZSCORE", w.keys.outbox_due(), "call-l"}).str == "26000");
  auto list = w.cmd({"LRANGE", w.keys.outbox("call-l"), "0", "-1"});
  REQUIRE(list.elements.size() == 4);
  CHECK(list.elements[0].str == "job-1");
  CHECK(list.elements[3].str == "job-4");
}
