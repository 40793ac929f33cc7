// Call state in Redis: one hash per call (`v` version, `s` JSON), written with compare-and-set so
// several dialplane instances can apply events to the same call safely. Every key expires.
#pragma once
#include "app/store/keys.hpp"
#include "app/observability/metrics.hpp"
#include "core/call_model.hpp"
#include "core/dial_machine.hpp"
#include "app/ports/call_store_port.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

namespace dp::app {

class CallStore final : public CallStorePort {
 public:
  // Records each command's latency and result into `stats`.
  CallStore(io::RedisClient& redis, Keys keys, int ttl_s, RedisStats& stats);

  boost::asio::awaitable<std::optional<Versioned>> load(const std::string& call_sid) override;
  boost::asio::awaitable<std::optional<long long>> version(const std::string& call_sid) override;
  boost::asio::awaitable<std::optional<std::string>> sid_for_call_id(const std::string& call_id) override;
  boost::asio::awaitable<std::optional<std::string>> sid_for_leg(const std::string& leg_sid) override;
  // One EVAL: walks the account's zset, skipping (and removing) members whose call expired.
  boost::asio::awaitable<std::vector<core::CallState>> live_calls(const std::string& account_sid,
                                                                 std::size_t limit) override;
  // One EVAL script: the compare-and-set, the indices, the timers zset and the outbox list in one atomic step.
  boost::asio::awaitable<CommitResult> commit(const core::CallState& state, long long version, bool remove,
                                              const std::vector<core::TimerOp>& timers,
                                              const std::vector<std::string>& jobs, long long now_ms,
                                              long long lease_ms) override;

 private:
  io::RedisClient& redis_;
  Keys keys_;
  int ttl_s_;
  RedisStats& stats_;
};

}  // namespace dp::app
