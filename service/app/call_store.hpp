// Call state in Redis: one hash per call (`v` version, `s` JSON), written with compare-and-set so
// several dialplane instances can apply events to the same call safely. Every key expires.
#pragma once
#include "core/call_model.hpp"
#include "io/redis_client.hpp"

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
  // version 0 = create (fails if the call exists). Returns false on a version conflict.
  boost::asio::awaitable<bool> save(const core::CallState& state, long long version);
  // Deletes the call if its version is unchanged. Returns false on a conflict.
  boost::asio::awaitable<bool> remove(const core::CallState& state, long long version);

  std::string call_key(const std::string& sid) const { return prefix_ + "call:" + sid; }
  std::string call_id_key(const std::string& call_id) const { return prefix_ + "callid:" + call_id; }

 private:
  io::RedisClient& redis_;
  std::string prefix_;
  int ttl_s_;
};

}  // namespace dp::app
