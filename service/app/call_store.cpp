#include "app/call_store.hpp"
#include "app/metrics.hpp"

namespace dp::app {

namespace json = boost::json;

namespace {
// KEYS: call hash, call-id index. ARGV: expected version, state JSON, ttl, call_sid.
constexpr const char* kSaveScript = R"lua(
local v = redis.call('HGET', KEYS[1], 'v')
if v == false then
  if ARGV[1] ~= '0' then return 0 end
elseif v ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, 's', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3])
return 1
)lua";

// KEYS: call hash, call-id index. ARGV: expected version.
constexpr const char* kRemoveScript = R"lua(
local v = redis.call('HGET', KEYS[1], 'v')
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
)lua";
}  // namespace

CallStore::CallStore(io::RedisClient& redis, std::string prefix, int ttl_s)
    : redis_(redis), prefix_(std::move(prefix)), ttl_s_(ttl_s) {}

boost::asio::awaitable<std::optional<CallStore::Versioned>> CallStore::load(const std::string& sid) {
  // Argument vectors are built before co_await: GCC 12 mis-compiles braced lists inside it.
  std::vector<std::string> args{"HMGET", call_key(sid), "v", "s"};
  auto r = co_await timed_redis(redis_, std::move(args), "call_load");
  if (r.type != io::RedisReply::Type::Array || r.elements.size() != 2 || r.elements[0].is_nil() ||
      r.elements[1].is_nil())
    co_return std::nullopt;
  Versioned out;
  out.version = std::stoll(r.elements[0].str);
  out.state = core::call_state_from_json(json::parse(r.elements[1].str));
  co_return out;
}

boost::asio::awaitable<std::optional<std::string>> CallStore::sid_for_call_id(const std::string& call_id) {
  std::vector<std::string> args{"GET", call_id_key(call_id)};
  auto r = co_await timed_redis(redis_, std::move(args), "call_lookup");
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return r.str;
}

boost::asio::awaitable<bool> CallStore::save(const core::CallState& s, long long version) {
  std::vector<std::string> args{"EVAL", kSaveScript, "2", call_key(s.call_sid), call_id_key(s.call_id),
                                std::to_string(version), json::serialize(core::to_json(s)),
                                std::to_string(ttl_s_), s.call_sid};
  auto r = co_await timed_redis(redis_, std::move(args), "call_save");
  co_return r.type == io::RedisReply::Type::Integer && r.integer == 1;
}

boost::asio::awaitable<bool> CallStore::remove(const core::CallState& s, long long version) {
  std::vector<std::string> args{"EVAL", kRemoveScript, "2", call_key(s.call_sid), call_id_key(s.call_id),
                                std::to_string(version)};
  auto r = co_await timed_redis(redis_, std::move(args), "call_remove");
  co_return r.type == io::RedisReply::Type::Integer && r.integer == 1;
}

}  // namespace dp::app
