// Call state in Redis: one hash per call (`v` version, `s` JSON), written with compare-and-set so
// several dialplane instances can apply events to the same call safely. Every key expires.
#pragma once
#include "app/store/keys.hpp"
#include "app/observability/metrics.hpp"
#include "core/call_model.hpp"
#include "core/dial_machine.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

namespace dp::app {

class CallStore {
 public:
  // Records each command's latency and result into `stats`.
  CallStore(io::RedisClient& redis, Keys keys, int ttl_s, RedisStats& stats);

  struct Versioned {
    core::CallState state;
    long long version = 0;
  };

  boost::asio::awaitable<std::optional<Versioned>> load(const std::string& call_sid);
  boost::asio::awaitable<std::optional<std::string>> sid_for_call_id(const std::string& call_id);
  // Writes the state (or deletes the call when `remove`), applies timer changes and appends outbox jobs,
  // all or nothing, if the stored version is still `version` (0 = create). False on a conflict.
  boost::asio::awaitable<bool> commit(const core::CallState& state, long long version, bool remove,
                                      const std::vector<core::TimerOp>& timers,
                                      const std::vector<std::string>& jobs, long long now_ms);
  // commit() without timers or jobs.
  boost::asio::awaitable<bool> save(const core::CallState& state, long long version);

 private:
  io::RedisClient& redis_;
  Keys keys_;
  int ttl_s_;
  RedisStats& stats_;
};

}  // namespace dp::app
