#include "app/store/provisioning_store.hpp"

#include "core/carrier_select.hpp"
#include "core/log.hpp"

#include <cstdio>
#include <set>

#include <stdexcept>

// Key layout: docs/redis-keys.md, section "Provisioning".
//
// Commands are built in a statement before `co_await` (docs/coroutines.md, rule 2).
//
// Multi-key writes are single EVAL calls rather than MULTI/EXEC: the RedisClient pipelines commands from many
// coroutines over one connection, so a MULTI ... EXEC sequence sent as separate commands could swallow another
// coroutine's command into the transaction. A script is one command and runs atomically.

namespace dp::app {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// KEYS: entity key, kind set. ARGV: json, set member.
constexpr const char* kPutPlain = R"lua(
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
)lua";

// The old name index is derived from the stored JSON so a rename never leaves a stale index behind.
// KEYS: carrier key, carriers set, new name index. ARGV: json, sid, name index stem (Keys::carrier_name_stem).
constexpr const char* kPutCarrier = R"lua(
local owner = redis.call('GET', KEYS[3])
if owner and owner ~= ARGV[2] then return redis.error_reply('DPCONFLICT carrier name in use') end
local old = redis.call('GET', KEYS[1])
if old then
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' and type(o.account_sid) == 'string' and type(o.name) == 'string' then
    local idx = ARGV[3] .. o.account_sid .. ':' .. string.lower(o.name)
    if idx ~= KEYS[3] and redis.call('GET', idx) == ARGV[2] then redis.call('DEL', idx) end
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
)lua";

// A hash so Kamailio can `HGET <key> ha1`; DEL first so the hash holds exactly these two fields.
// KEYS: user key, users set. ARGV: ha1, json, member.
constexpr const char* kPutSipUser = R"lua(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'ha1', ARGV[1], 'json', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
)lua";

// KEYS: entity key, kind set. ARGV: member.
constexpr const char* kRemovePlain = R"lua(
local n = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return n
)lua";

// KEYS: carrier key, carriers set. ARGV: sid, name index stem (Keys::carrier_name_stem).
constexpr const char* kRemoveCarrier = R"lua(
local old = redis.call('GET', KEYS[1])
if old then
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' and type(o.account_sid) == 'string' and type(o.name) == 'string' then
    local idx = ARGV[2] .. o.account_sid .. ':' .. string.lower(o.name)
    if redis.call('GET', idx) == ARGV[1] then redis.call('DEL', idx) end
  end
end
local n = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return n
)lua";

// One round trip for a whole listing. Members whose key vanished are skipped.
// KEYS: kind set. ARGV: key prefix for members, 'hash' or 'string'.
constexpr const char* kList = R"lua(
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v
  if ARGV[2] == 'hash' then v = redis.call('HGET', ARGV[1] .. m, 'json') else v = redis.call('GET', ARGV[1] .. m) end
  if v then out[#out + 1] = v end
end
return out
)lua";

// KEYS: ping set. ARGV: members.
constexpr const char* kReplaceSet = R"lua(
redis.call('DEL', KEYS[1])
for i = 1, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
return #ARGV
)lua";

// KEYS: calls zset, cps counter. ARGV: now, expiry, member, max_calls, max_cps.
constexpr const char* kAcquire = R"lua(
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local maxc = tonumber(ARGV[4])
if maxc > 0 and redis.call('ZSCORE', KEYS[1], ARGV[3]) == false and redis.call('ZCARD', KEYS[1]) >= maxc then
  return 0
end
local maxr = tonumber(ARGV[5])
if maxr > 0 then
  local n = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 2)
  if n > maxr then return -1 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(ARGV[2]) - now)))
return 1
)lua";

struct KindKeys {
  std::string key_prefix;  // "<prefix>account:": the family's key of an empty member
  std::string set;         // "<prefix>accounts"
  bool hash = false;
};

KindKeys kind_keys(const Keys& keys, const std::string& kind) {
  if (kind == "account") return {keys.account(""), keys.accounts()};
  if (kind == "application") return {keys.application(""), keys.applications()};
  if (kind == "phone_number") return {keys.number(""), keys.numbers()};
  if (kind == "sip_domain") return {keys.domain(""), keys.domains()};
  if (kind == "carrier") return {keys.carrier(""), keys.carriers()};
  if (kind == "sip_user") return {keys.sip_user(""), keys.sip_users(), true};
  if (kind == "lcr_route") return {keys.lcr_route(""), keys.lcr_routes()};
  throw std::invalid_argument("unknown provisioning kind");
}

std::vector<std::string> eval(const char* script, std::initializer_list<std::string> keys,
                              std::initializer_list<std::string> args) {
  std::vector<std::string> cmd{"EVAL", script, std::to_string(keys.size())};
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

// Parses stored JSON with the REST validator; stored data that no longer validates is reported and treated as
// absent rather than half-used. Only the kind and id are logged (the JSON may hold secrets).
template <class T, class F>
std::optional<T> decode(const std::string& text, F from_json, std::string_view kind, std::string_view id) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  std::string err;
  if (!ec) {
    if (auto t = from_json(v, err)) return t;
  } else {
    err = "not JSON";
  }
  log::error("provisioning_bad_record", {{"kind", kind}, {"id", id}, {"error", err}});
  return std::nullopt;
}

std::string ser(const json::object& o) { return json::serialize(o); }

}  // namespace

ProvisioningStore::ProvisioningStore(io::RedisClient& redis, Keys keys, std::vector<std::string> teams_ping_keys)
    : redis_(redis), keys_(std::move(keys)), teams_ping_keys_(std::move(teams_ping_keys)) {}

awaitable<void> ProvisioningStore::bump_generation() {
  std::vector<std::string> cmd = {"INCR", keys_.prov_generation()};
  co_await redis_.command(std::move(cmd));
}

awaitable<std::optional<core::Account>> ProvisioningStore::account(const std::string& sid) {
  std::vector<std::string> cmd = {"GET", keys_.account(core::to_lower_ascii(sid))};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::Account>(r.str, core::account_from_json, "account", sid);
}

awaitable<std::optional<core::Application>> ProvisioningStore::application(const std::string& sid) {
  std::vector<std::string> cmd = {"GET", keys_.application(core::to_lower_ascii(sid))};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::Application>(r.str, core::application_from_json, "application", sid);
}

awaitable<std::optional<core::PhoneNumber>> ProvisioningStore::phone_number(const std::string& number) {
  std::string n = core::normalize_number(number);
  if (n.empty()) co_return std::nullopt;
  std::vector<std::string> cmd = {"GET", keys_.number(n)};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::PhoneNumber>(r.str, core::phone_number_from_json, "phone_number", n);
}

awaitable<std::optional<core::SipDomain>> ProvisioningStore::sip_domain(const std::string& domain) {
  std::string d = core::to_lower_ascii(domain);
  std::vector<std::string> cmd = {"GET", keys_.domain(d)};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::SipDomain>(r.str, core::sip_domain_from_json, "sip_domain", d);
}

awaitable<std::optional<core::Carrier>> ProvisioningStore::carrier(const std::string& sid) {
  std::vector<std::string> cmd = {"GET", keys_.carrier(core::to_lower_ascii(sid))};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::Carrier>(r.str, core::carrier_from_json, "carrier", sid);
}

awaitable<std::optional<core::Carrier>> ProvisioningStore::carrier_by_name(const std::string& account_sid,
                                                                            const std::string& name) {
  std::vector<std::string> cmd = 
      {"GET", keys_.carrier_name(core::to_lower_ascii(account_sid), core::to_lower_ascii(name))};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  auto c = co_await carrier(r.str);
  // The index is written with the carrier atomically; the check guards against hand-edited data.
  if (c && c->account_sid == core::to_lower_ascii(account_sid)) co_return c;
  co_return std::nullopt;
}

awaitable<std::optional<core::SipUser>> ProvisioningStore::sip_user(const std::string& domain,
                                                                    const std::string& username) {
  std::string d = core::to_lower_ascii(domain);
  std::vector<std::string> cmd = {"HGET", keys_.sip_user(d + ":" + username), "json"};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::SipUser>(r.str, core::sip_user_from_json, "sip_user", d + "/" + username);
}

awaitable<void> ProvisioningStore::put(const core::Account& a) {
  std::vector<std::string> cmd = 
      eval(kPutPlain, {keys_.account(a.account_sid), keys_.accounts()}, {ser(core::to_json(a)), a.account_sid});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
  if (!teams_ping_keys_.empty()) co_await refresh_ping_set();  // Teams settings start or stop the Teams pings
}

awaitable<void> ProvisioningStore::put(const core::Application& a) {
  std::vector<std::string> cmd = eval(kPutPlain, {keys_.application(a.application_sid), keys_.applications()},
                               {ser(core::to_json(a)), a.application_sid});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
}

awaitable<void> ProvisioningStore::put(const core::PhoneNumber& p) {
  std::string n = core::normalize_number(p.number);
  std::vector<std::string> cmd = eval(kPutPlain, {keys_.number(n), keys_.numbers()}, {ser(core::to_json(p)), n});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
}

awaitable<void> ProvisioningStore::put(const core::SipDomain& d) {
  std::vector<std::string> cmd = 
      eval(kPutPlain, {keys_.domain(d.domain), keys_.domains()}, {ser(core::to_json(d)), d.domain});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
}

awaitable<void> ProvisioningStore::put(const core::Carrier& c) {
  std::vector<std::string> cmd = eval(kPutCarrier,
                               {keys_.carrier(c.carrier_sid), keys_.carriers(),
                                keys_.carrier_name(c.account_sid, core::to_lower_ascii(c.name))},
                               {ser(core::to_json(c)), c.carrier_sid, keys_.carrier_name_stem()});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
  co_await refresh_ping_set();
}

awaitable<void> ProvisioningStore::put(const core::SipUser& u) {
  std::string member = u.domain + ":" + u.username;
  std::vector<std::string> cmd = eval(kPutSipUser, {keys_.sip_user(member), keys_.sip_users()},
                               {u.ha1, ser(core::to_json(u)), member});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
}

awaitable<void> ProvisioningStore::put(const core::LcrRoute& l) {
  std::vector<std::string> cmd =
      eval(kPutPlain, {keys_.lcr_route(l.lcr_route_sid), keys_.lcr_routes()}, {ser(core::to_json(l)), l.lcr_route_sid});
  co_await redis_.command(std::move(cmd));
  co_await bump_generation();
}

awaitable<std::optional<core::LcrRoute>> ProvisioningStore::lcr_route(const std::string& sid) {
  std::vector<std::string> cmd = {"GET", keys_.lcr_route(core::to_lower_ascii(sid))};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  co_return decode<core::LcrRoute>(r.str, core::lcr_route_from_json, "lcr_route", sid);
}

awaitable<std::vector<core::LcrRoute>> ProvisioningStore::lcr_routes(const std::string& account_sid) {
  auto all = co_await list("lcr_route");
  std::vector<core::LcrRoute> out;
  for (const auto& o : all) {
    std::string err;
    auto l = core::lcr_route_from_json(o, err);
    if (l && l->account_sid == core::to_lower_ascii(account_sid)) out.push_back(std::move(*l));
  }
  co_return out;
}

awaitable<std::vector<core::Carrier>> ProvisioningStore::carriers_of(const std::string& account_sid) {
  auto all = co_await list("carrier");
  std::vector<core::Carrier> out;
  for (const auto& o : all) {
    std::string err;
    auto c = core::carrier_from_json(o, err);
    if (c && (account_sid.empty() || c->account_sid == core::to_lower_ascii(account_sid))) out.push_back(std::move(*c));
  }
  co_return out;
}

awaitable<void> ProvisioningStore::refresh_ping_set() {
  auto carriers = co_await carriers_of("");
  std::vector<std::string> cmd{"EVAL", kReplaceSet, "1", keys_.ping_gateways()};
  std::set<std::string> keys;
  for (const auto& c : carriers)
    for (const auto& g : c.gateways)
      if (g.options_ping) keys.insert(core::gateway_key(g));
  if (!teams_ping_keys_.empty()) {
    auto accounts = co_await list("account");
    bool teams = false;
    for (const auto& a : accounts)
      if (auto* f = a.if_contains("teams_sbc_fqdn"); f && f->is_string() && !f->get_string().empty()) teams = true;
    if (teams) keys.insert(teams_ping_keys_.begin(), teams_ping_keys_.end());
  }
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  co_await redis_.command(std::move(cmd));
}

awaitable<std::map<std::string, std::string>> ProvisioningStore::gateway_health() {
  std::vector<std::string> cmd{"HGETALL", keys_.gateway_health()};
  auto r = co_await redis_.command(std::move(cmd));
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) out[r.elements[i].str] = r.elements[i + 1].str;
  co_return out;
}

awaitable<void> ProvisioningStore::put_leg_plan(const std::string& token, const json::object& plan, int ttl_s) {
  std::vector<std::string> cmd{"SET", keys_.leg_plan(token), ser(plan), "EX", std::to_string(ttl_s)};
  co_await redis_.command(std::move(cmd));
}

awaitable<std::optional<json::object>> ProvisioningStore::leg_plan(const std::string& token) {
  std::vector<std::string> cmd{"GET", keys_.leg_plan(token)};
  auto r = co_await redis_.command(std::move(cmd));
  if (r.type != io::RedisReply::Type::String) co_return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(r.str, ec);
  if (ec || !v.is_object()) co_return std::nullopt;
  co_return std::move(v.get_object());
}

awaitable<int> ProvisioningStore::acquire_slot(const core::Carrier& c, const std::string& member, double now,
                                               int ttl_s) {
  if (c.max_calls <= 0 && c.max_cps <= 0) co_return 1;
  auto sec = std::to_string(static_cast<long long>(now));
  char nowbuf[32], expbuf[32];
  std::snprintf(nowbuf, sizeof nowbuf, "%.3f", now);
  std::snprintf(expbuf, sizeof expbuf, "%.3f", now + ttl_s);
  std::vector<std::string> cmd{"EVAL", kAcquire, "2", keys_.carrier_calls(c.carrier_sid),
                               keys_.carrier_cps(c.carrier_sid, sec), nowbuf, expbuf, member,
                               std::to_string(c.max_calls), std::to_string(c.max_cps)};
  auto r = co_await redis_.command(std::move(cmd));
  co_return static_cast<int>(r.integer);
}

awaitable<void> ProvisioningStore::release_slot(const std::string& carrier_sid, const std::string& member) {
  std::vector<std::string> cmd{"ZREM", keys_.carrier_calls(carrier_sid), member};
  co_await redis_.command(std::move(cmd));
}

awaitable<std::vector<std::string>> ProvisioningStore::slot_members(const std::string& carrier_sid) {
  std::vector<std::string> cmd{"ZRANGE", keys_.carrier_calls(carrier_sid), "0", "-1"};
  auto r = co_await redis_.command(std::move(cmd));
  std::vector<std::string> out;
  for (const auto& e : r.elements) out.push_back(e.str);
  co_return out;
}

awaitable<bool> ProvisioningStore::remove(const std::string& kind, const std::string& key) {
  KindKeys k = kind_keys(keys_, kind);
  std::string member = core::provisioning_member(kind, key);
  if (member.empty()) co_return false;
  std::vector<std::string> cmd = kind == "carrier"
                                     ? eval(kRemoveCarrier, {k.key_prefix + member, k.set}, {member, keys_.carrier_name_stem()})
                                     : eval(kRemovePlain, {k.key_prefix + member, k.set}, {member});
  auto r = co_await redis_.command(std::move(cmd));
  bool removed = r.type == io::RedisReply::Type::Integer && r.integer > 0;
  co_await bump_generation();
  if (kind == "carrier" || (kind == "account" && !teams_ping_keys_.empty())) co_await refresh_ping_set();
  co_return removed;
}

awaitable<std::vector<json::object>> ProvisioningStore::list(const std::string& kind) {
  KindKeys k = kind_keys(keys_, kind);
  std::vector<std::string> cmd = eval(kList, {k.set}, {k.key_prefix, k.hash ? "hash" : "string"});
  auto r = co_await redis_.command(std::move(cmd));
  std::vector<json::object> out;
  for (const auto& e : r.elements) {
    if (e.type != io::RedisReply::Type::String) continue;
    boost::system::error_code ec;
    json::value v = json::parse(e.str, ec);
    if (ec || !v.is_object()) {
      log::error("provisioning_bad_record", {{"kind", kind}, {"error", "not a JSON object"}});
      continue;
    }
    out.push_back(std::move(v.get_object()));
  }
  co_return out;
}

}  // namespace dp::app
