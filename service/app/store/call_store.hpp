// Call state in Redis: one hash per call (`v` version, `s` JSON), written with compare-and-set so
// several dialplane instances can apply events to the same call safely. Every key expires.
#pragma once
#include "core/call_model.hpp"
#include "core/dial_machine.hpp"
#include "io/redis/redis_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

namespace dp::app {

class CallStore {
 public:
  CallStore(io::RedisClient& redis, std::string prefix, int ttl_s);

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

  std::string call_key(const std::string& sid) const { return prefix_ + "call:" + sid; }
  std::string call_id_key(const std::string& call_id) const { return prefix_ + "callid:" + call_id; }
  std::string timers_key() const { return prefix_ + "timers"; }
  std::string outbox_key(const std::string& sid) const { return prefix_ + "outbox:" + sid; }
  std::string outbox_due_key() const { return prefix_ + "outbox-due"; }

 private:
  io::RedisClient& redis_;
  std::string prefix_;
  int ttl_s_;
};

}  // namespace dp::app
