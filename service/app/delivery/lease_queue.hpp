// A due-time queue in one Redis sorted set, shared by every dialplane instance: members become due at
// their score (epoch ms); an instance claims due members by pushing their score to now + lease, acts, then
// completes them. A claimer that dies before completing lets the lease run out, and another instance
// claims the member again. So every member is acted on at least once; actions must be idempotent.
#pragma once
#include "io/redis/redis_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace dp::app {

class LeaseQueue {
 public:
  LeaseQueue(io::RedisClient& redis, std::string key) : redis_(redis), key_(std::move(key)) {}

  struct Claimed {
    std::string member;
    long long due_ms = 0;  // when it was due (for lateness)
  };

  // Members due at `now_ms`, at most `max`, each leased until now_ms + lease.
  boost::asio::awaitable<std::vector<Claimed>> claim_due(long long now_ms, std::chrono::milliseconds lease,
                                                         int max);
  // Adds (or moves) a member to become due at due_ms.
  boost::asio::awaitable<void> schedule(const std::string& member, long long due_ms);
  // Removes a member whose score still equals `leased_until` (so a re-scheduled member survives);
  // leased_until < 0 removes unconditionally.
  boost::asio::awaitable<void> complete(const std::string& member, long long leased_until = -1);
  boost::asio::awaitable<long long> size();

  const std::string& key() const { return key_; }

 private:
  io::RedisClient& redis_;
  std::string key_;
};


}  // namespace dp::app
