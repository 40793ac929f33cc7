// Metrics are recorded into the stats object a component was given, not into a process-wide instance: two
// Metrics side by side each see only their own component's commands.
#include <doctest/doctest.h>

#include <boost/asio.hpp>
#include <string>

#include "../common/metrics_series.hpp"
#include "app/observability/metrics.hpp"
#include "app/store/call_store.hpp"
#include "io_test_util.hpp"

namespace asio = boost::asio;

using dp::test::series;

namespace {

asio::awaitable<bool> load_fails(dp::app::CallStore& store) {
  bool failed = false;
  try {
    auto c = co_await store.load("CA-none");
    (void)c;
  } catch (const dp::io::RedisError&) {
    failed = true;
  }
  co_return failed;
}

}  // namespace

TEST_CASE("CallStore records its Redis commands into the RedisStats it was given") {
  asio::io_context ioc;
  dp::io::RedisClient redis(ioc.get_executor(), {});  // never started: every command fails at once
  dp::app::Metrics mine, other;
  dp::app::CallStore store(redis, dp::app::Keys("t:"), 60, mine.redis());
  const std::string errors = R"(dialplane_redis_command_errors_total{op="call_load"})";
  CHECK(series(mine, errors) == "0");
  CHECK(dp::test::run(ioc, load_fails(store)));
  CHECK(series(mine, errors) == "1");
  CHECK(series(mine, R"(dialplane_redis_command_seconds_count{op="call_load",result="error"})") == "1");
  CHECK(series(other, errors) == "0");
}
