// Call state in Redis: one hash per call (`v` version, `s` JSON), written with compare-and-set so
// several dialplane instances can apply events to the same call safely. Every key expires.
#pragma once
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
  CallStore(io::RedisClient& redis, std::string prefix, int ttl_s);

  boost::asio::awaitable<std::optional<Versioned>> load(const std::string& call_sid) override;
  boost::asio::awaitable<std::optional<std::string>> sid_for_call_id(const std::string& call_id) override;
  // One EVAL script: the compare-and-set, the timers zset and the outbox list in one atomic step.
  boost::asio::awaitable<bool> commit(const core::CallState& state, long long version, bool remove,
                                      const std::vector<core::TimerOp>& timers,
                                      const std::vector<std::string>& jobs, long long now_ms) override;

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
