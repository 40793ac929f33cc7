#include "app/store/call_store.hpp"
#include "app/observability/metrics.hpp"
#include "core/log.hpp"

#include <cmath>

namespace dp::app {

namespace json = boost::json;

namespace {
// Commits one transition atomically: the state (or its deletion), its indices, its timer changes and its outbox
// jobs. The leg indices of earlier dials are found through the call's children set when it is deleted (those keys
// are not in KEYS: the store assumes a single, non-cluster Redis, as the provisioning scripts do).
// KEYS: call hash, call-id index, timers zset, call's outbox list, outbox-due zset, account's calls zset,
//       call's children set, then one child index key per leg of the current dial.
// ARGV: expected version ('0' = create), state JSON ('' = delete), ttl, call_sid, now ms, created ms,
//       #timer ops, then (id, due ms; 0 = cancel) pairs, #jobs, then the jobs, then the lease's end (ms).
// Returns {1, lease} when written (lease: 0 none, 1 fresh, 2 backlog; see CallStorePort::OutboxLease), or
// {0, version, state} on a version conflict (version and state false when the call does not exist).
constexpr const char* kCommitScript = R"lua(
local v = redis.call('HGET', KEYS[1], 'v')
if v == false then
  if ARGV[1] ~= '0' then return {0, false, false} end
elseif v ~= ARGV[1] then
  return {0, v, redis.call('HGET', KEYS[1], 's')}
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[6], ARGV[4])
  for _, k in ipairs(redis.call('SMEMBERS', KEYS[7])) do
    redis.call('DEL', k)
  end
  for k = 7, #KEYS do
    redis.call('DEL', KEYS[k])
  end
else
  redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, 's', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3])
  redis.call('ZADD', KEYS[6], ARGV[6], ARGV[4])
  redis.call('EXPIRE', KEYS[6], ARGV[3])
  for k = 8, #KEYS do
    redis.call('SET', KEYS[k], ARGV[4], 'EX', ARGV[3])
    redis.call('SADD', KEYS[7], KEYS[k])
  end
  redis.call('EXPIRE', KEYS[7], ARGV[3])
end
local i = 8
for _ = 1, tonumber(ARGV[7]) do
  if ARGV[i + 1] == '0' then
    redis.call('ZREM', KEYS[3], ARGV[i])
  else
    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])
  end
  i = i + 2
end
local jobs = tonumber(ARGV[i])
local lease = 0
if jobs > 0 then
  local waiting = redis.call('LLEN', KEYS[4])
  for j = 1, jobs do
    redis.call('RPUSH', KEYS[4], ARGV[i + j])
  end
  redis.call('EXPIRE', KEYS[4], 86400)
  -- An instance holding the lease (score in the future) delivers the new jobs after its current ones; a free or
  -- run-out lease becomes the committer's, which then delivers from memory what it just wrote.
  local held = redis.call('ZSCORE', KEYS[5], ARGV[4])
  if not held or tonumber(held) <= tonumber(ARGV[5]) then
    redis.call('ZADD', KEYS[5], ARGV[i + jobs + 1], ARGV[4])
    lease = waiting == 0 and 1 or 2
  end
end
return {1, lease}
)lua";

// Up to ARGV[2] states of the account's calls, oldest first; members whose call record is gone (expired) are
// removed on the way. KEYS: the account's calls zset. ARGV: the call key prefix, limit.
constexpr const char* kListScript = R"lua(
local out = {}
local limit = tonumber(ARGV[2])
local start = 0
while #out < limit do
  local page = redis.call('ZRANGE', KEYS[1], start, start + limit - 1)
  if #page == 0 then break end
  local gone = 0
  for _, sid in ipairs(page) do
    local s = redis.call('HGET', ARGV[1] .. sid, 's')
    if not s then
      redis.call('ZREM', KEYS[1], sid)
      gone = gone + 1
    elseif #out < limit then
      out[#out + 1] = s
    end
  end
  start = start + #page - gone
end
return out
)lua";

long long epoch_ms_of(double seconds) { return static_cast<long long>(std::llround(seconds * 1000.0)); }
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

boost::asio::awaitable<std::optional<long long>> CallStore::version(const std::string& sid) {
  std::vector<std::string> args{"HGET", keys_.call(sid), "v"};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "call_version");
  if (r.is_nil() || r.str.empty()) co_return std::nullopt;
  co_return std::stoll(r.str);
}

boost::asio::awaitable<std::optional<std::string>> CallStore::sid_for_call_id(const std::string& call_id) {
  std::vector<std::string> args{"GET", keys_.call_id(call_id)};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "call_lookup");
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return r.str;
}

boost::asio::awaitable<std::optional<std::string>> CallStore::sid_for_leg(const std::string& leg_sid) {
  std::vector<std::string> args{"GET", keys_.child(leg_sid)};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "call_by_leg");
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return r.str;
}

boost::asio::awaitable<std::vector<core::CallState>> CallStore::live_calls(const std::string& account_sid,
                                                                          std::size_t limit) {
  std::vector<core::CallState> out;
  if (limit == 0) co_return out;
  std::vector<std::string> args{"EVAL", kListScript, "1", keys_.account_calls(account_sid), keys_.call(""),
                                std::to_string(limit)};
  auto r = co_await timed_redis(redis_, stats_, std::move(args), "calls_of_account");
  for (const auto& e : r.elements) {
    try {
      out.push_back(core::call_state_from_json(json::parse(e.str)));
    } catch (const std::exception& ex) {
      log::warn("call_state_unreadable", {{"account_sid", account_sid}, {"error", ex.what()}});
    }
  }
  co_return out;
}

boost::asio::awaitable<CallStorePort::CommitResult> CallStore::commit(const core::CallState& s, long long version,
                                                                       bool remove,
                                                                       const std::vector<core::TimerOp>& timers,
                                                                       const std::vector<std::string>& jobs,
                                                                       long long now_ms, long long lease_ms) {
  std::vector<std::string> leg_keys;
  if (s.dial)
    for (const auto& l : s.dial->legs) leg_keys.push_back(keys_.child(l.call_sid));
  std::vector<std::string> args{"EVAL", kCommitScript, std::to_string(7 + leg_keys.size()), keys_.call(s.call_sid),
                                keys_.call_id(s.call_id), keys_.timers(), keys_.outbox(s.call_sid),
                                keys_.outbox_due(), keys_.account_calls(s.account_sid), keys_.children(s.call_sid)};
  args.insert(args.end(), leg_keys.begin(), leg_keys.end());
  args.push_back(std::to_string(version));
  args.push_back(remove ? std::string() : json::serialize(core::to_json(s)));
  args.push_back(std::to_string(ttl_s_));
  args.push_back(s.call_sid);
  args.push_back(std::to_string(now_ms));
  args.push_back(std::to_string(epoch_ms_of(s.created_at)));
  args.push_back(std::to_string(timers.size()));
  for (const auto& t : timers) {
    args.push_back(t.id);
    args.push_back(std::to_string(t.due_ms));
  }
  args.push_back(std::to_string(jobs.size()));
  for (const auto& j : jobs) args.push_back(j);
  args.push_back(std::to_string(now_ms + lease_ms));
  auto r = co_await timed_redis(redis_, stats_, std::move(args), remove ? "call_remove" : "call_save");
  CommitResult out;
  if (r.type != io::RedisReply::Type::Array || r.elements.size() < 2)
    throw io::RedisError(io::RedisError::Kind::Reply, "call commit: unexpected reply");
  if (r.elements[0].integer == 1) {
    out.ok = true;
    auto lease = r.elements[1].integer;
    out.lease = lease == 1 ? OutboxLease::Fresh : lease == 2 ? OutboxLease::Backlog : OutboxLease::None;
    co_return out;
  }
  // A conflict: the stored call comes back with the answer (Lua's false is a nil reply).
  if (r.elements.size() == 3 && !r.elements[1].is_nil() && !r.elements[2].is_nil()) {
    Versioned cur;
    cur.version = std::stoll(r.elements[1].str);
    cur.state = core::call_state_from_json(json::parse(r.elements[2].str));
    out.current = std::move(cur);
  }
  co_return out;
}

}  // namespace dp::app
