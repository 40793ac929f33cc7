#include "app/delivery/lease_queue.hpp"

namespace dp::app {

namespace {
// KEYS[1] zset. ARGV: now, lease ms, max. Returns member, due, member, due, ...
constexpr const char* kClaimDue = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local until_ms = tonumber(ARGV[1]) + tonumber(ARGV[2])
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], until_ms, due[i])
end
return due
)lua";

// KEYS[1] zset. ARGV: member, leased_until (-1 = any).
constexpr const char* kComplete = R"lua(
if ARGV[2] ~= '-1' then
  local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
end
return redis.call('ZREM', KEYS[1], ARGV[1])
)lua";
}  // namespace

boost::asio::awaitable<std::vector<LeaseQueue::Claimed>> LeaseQueue::claim_due(long long now_ms,
                                                                                std::chrono::milliseconds lease,
                                                                                int max) {
  std::vector<std::string> args{"EVAL", kClaimDue, "1", key_, std::to_string(now_ms),
                                std::to_string(lease.count()), std::to_string(max)};
  auto r = co_await redis_.command(std::move(args));
  std::vector<Claimed> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out.push_back({r.elements[i].str, std::stoll(r.elements[i + 1].str)});
  co_return out;
}

boost::asio::awaitable<void> LeaseQueue::schedule(const std::string& member, long long due_ms) {
  std::vector<std::string> args{"ZADD", key_, std::to_string(due_ms), member};
  co_await redis_.command(std::move(args));
}

boost::asio::awaitable<void> LeaseQueue::complete(const std::string& member, long long leased_until) {
  std::vector<std::string> args{"EVAL", kComplete, "1", key_, member, std::to_string(leased_until)};
  co_await redis_.command(std::move(args));
}

boost::asio::awaitable<long long> LeaseQueue::size() {
  std::vector<std::string> args{"ZCARD", key_};
  auto r = co_await redis_.command(std::move(args));
  co_return r.integer;
}

}  // namespace dp::app
