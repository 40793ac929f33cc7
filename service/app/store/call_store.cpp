#include "app/store/call_store.hpp"
#include "app/observability/metrics.hpp"

namespace dp::app {

namespace json = boost::json;

namespace {
// Commits one transition atomically: the state (or its deletion), its timer changes and its outbox jobs.
// KEYS: call hash, call-id index, timers zset, call's outbox list, outbox-due zset.
// ARGV: expected version ('0' = create), state JSON ('' = delete), ttl, call_sid, now ms,
//       #timer ops, then (id, due ms; 0 = cancel) pairs, #jobs, then the jobs.
constexpr const char* kCommitScript = R"lua(
local v = redis.call('HGET', KEYS[1], 'v')
if v == false then
  if ARGV[1] ~= '0' then return 0 end
elseif v ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, 's', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3])
end
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  if ARGV[i + 1] == '0' then
    redis.call('ZREM', KEYS[3], ARGV[i])
  else
    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
  end
  i = i + 2
end
local jobs = tonumber(ARGV[i])
if jobs > 0 then
  for j = 1, jobs do
    redis.call('RPUSH', KEYS[4], ARGV[i + j])
  end
  redis.call('EXPIRE', KEYS[4], 86400)
  -- NX: an instance already draining this call's outbox keeps its lease and picks the new jobs up.
  redis.call('ZADD', KEYS[5], 'NX', ARGV[5], ARGV[4])
end
return 1
)lua";
}  // namespace

CallStore::CallStore(io::RedisClient& redis, Keys keys, int ttl_s, RedisStats& stats)
    : redis_(redis), keys_(std::move(keys)), ttl_s_(ttl_s), stats_(stats) {}

boost::asio::awaitable<std::optional<CallStorePort::Versioned>> CallStore::load(const std::string& sid) {
  // Argument vectors are built before co_await (docs/coroutines.md, rule 2).
  std::vector<std::string> args{"HMGET", keys_.call(sid), "v", "s"};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "call_load");
  if (r.type != io::RedisReply::Type::Array || r.elements.size() != 2 || r.elements[0].is_nil() ||
      r.elements[1].is_nil())
    co_return std::nullopt;
  Versioned out;
  out.version = std::stoll(r.elements[0].str);
  out.state = core::call_state_from_json(json::parse(r.elements[1].str));
  co_return out;
}

boost::asio::awaitable<std::optional<std::string>> CallStore::sid_for_call_id(const std::string& call_id) {
  std::vector<std::string> args{"GET", keys_.call_id(call_id)};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "call_lookup");
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return r.str;
}

boost::asio::awaitable<bool> CallStore::commit(const core::CallState& s, long long version, bool remove,
                                               const std::vector<core::TimerOp>& timers,
                                               const std::vector<std::string>& jobs, long long now_ms) {
  std::vector<std::string> args{"EVAL", kCommitScript, "5", keys_.call(s.call_sid), keys_.call_id(s.call_id),
                                keys_.timers(), keys_.outbox(s.call_sid), keys_.outbox_due(), std::to_string(version),
                                remove ? std::string() : json::serialize(core::to_json(s)), std::to_string(ttl_s_),
                                s.call_sid, std::to_string(now_ms), std::to_string(timers.size())};
  for (const auto& t : timers) {
    args.push_back(t.id);
    args.push_back(std::to_string(t.due_ms));
  }
  args.push_back(std::to_string(jobs.size()));
  for (const auto& j : jobs) args.push_back(j);
  auto r = co_await timed_redis(redis_, stats_, std::move(args), remove ? "call_remove" : "call_save");
  co_return r.type == io::RedisReply::Type::Integer && r.integer == 1;
}

}  // namespace dp::app
