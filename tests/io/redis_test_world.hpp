// A Redis connection for the adapter tests on DP_TEST_REDIS_PORT, with a key prefix of its own (pid-unique) whose
// keys are deleted when the world goes.
#pragma once
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "app/store/keys.hpp"
#include "io/redis/redis_client.hpp"
#include "io_test_util.hpp"

namespace dp::test {

struct RedisWorld {
  boost::asio::io_context ioc;
  io::RedisClient redis;
  std::string prefix;
  app::Keys keys{prefix};

  RedisWorld(uint16_t port, const std::string& name)
      : redis(ioc.get_executor(), options(port)), prefix(name + ":" + std::to_string(getpid()) + ":") {
    redis.start();
    REQUIRE(pump_until(ioc, [&] { return redis.connected(); }, std::chrono::milliseconds(3000)));
  }
  ~RedisWorld() {
    auto left = cmd({"KEYS", prefix + "*"});
    for (const auto& k : left.elements) cmd({"DEL", k.str});
    redis.stop();
  }
  static io::RedisClient::Options options(uint16_t port) {
    io::RedisClient::Options o;
    o.port = port;
    return o;
  }
  io::RedisReply cmd(std::vector<std::string> args) { return run(ioc, redis.command(std::move(args))); }
};

}  // namespace dp::test
