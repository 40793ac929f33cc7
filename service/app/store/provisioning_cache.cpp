#include "app/store/provisioning_cache.hpp"

namespace dp::app {

namespace asio = boost::asio;
template <class T>
using awaitable = asio::awaitable<T>;

ProvisioningCache::ProvisioningCache(ProvisioningPort& store, io::RedisClient& redis, Keys keys,
                                     std::chrono::milliseconds max_age, RedisStats& stats)
    : store_(store), redis_(redis), keys_(std::move(keys)), stats_(stats), max_age_(max_age) {}

void ProvisioningCache::clear() {
  accounts_.clear();
  applications_.clear();
  numbers_.clear();
  domains_.clear();
  lcr_.clear();
  carriers_.clear();
}

awaitable<void> ProvisioningCache::revalidate() {
  auto now = std::chrono::steady_clock::now();
  if (now - checked_ < max_age_) co_return;
  checked_ = now;  // before the co_await: lookups meanwhile use what is cached rather than ask again
  std::vector<std::string> cmd{"GET", keys_.prov_generation()};
  auto r = co_await timed_redis(redis_, stats_, std::move(cmd), "prov_generation");
  std::string gen = r.type == io::RedisReply::Type::String ? r.str : std::string("0");
  if (gen != generation_) {
    clear();
    generation_ = gen;
  }
}

template <class T, class Load>
awaitable<T> ProvisioningCache::cached(Map<T>& map, const std::string& key, Load load) {
  if (max_age_.count() <= 0) {
    auto v = co_await load();
    co_return v;
  }
  co_await revalidate();
  if (auto it = map.find(key); it != map.end()) {
    ++hits_;
    co_return it->second;
  }
  ++misses_;
  auto gen = generation_;
  auto v = co_await load();
  // A write (here) or a newer generation seen meanwhile: the answer may predate it, so it is not kept.
  if (gen == generation_ && map.find(key) == map.end()) {
    if (map.size() >= kMaxEntries) map.clear();
    map.emplace(key, v);
  }
  co_return v;
}

awaitable<std::optional<core::Account>> ProvisioningCache::account(const std::string& sid) {
  auto v = co_await cached(accounts_, sid, [&] { return store_.account(sid); });
  co_return v;
}
awaitable<std::optional<core::Application>> ProvisioningCache::application(const std::string& sid) {
  auto v = co_await cached(applications_, sid, [&] { return store_.application(sid); });
  co_return v;
}
awaitable<std::optional<core::PhoneNumber>> ProvisioningCache::phone_number(const std::string& number) {
  auto v = co_await cached(numbers_, number, [&] { return store_.phone_number(number); });
  co_return v;
}
awaitable<std::optional<core::SipDomain>> ProvisioningCache::sip_domain(const std::string& domain) {
  auto v = co_await cached(domains_, domain, [&] { return store_.sip_domain(domain); });
  co_return v;
}
awaitable<std::vector<core::LcrRoute>> ProvisioningCache::lcr_routes(const std::string& account_sid) {
  auto v = co_await cached(lcr_, account_sid, [&] { return store_.lcr_routes(account_sid); });
  co_return v;
}
awaitable<std::vector<core::Carrier>> ProvisioningCache::carriers_of(const std::string& account_sid) {
  auto v = co_await cached(carriers_, account_sid, [&] { return store_.carriers_of(account_sid); });
  co_return v;
}

// A local write drops the cache and marks the generation unknown, so an answer loaded before it is not kept
// (cached() compares the generation) and the next lookup reads the bumped counter.
#define DP_PROV_CACHE_PUT(T)                                  \
  awaitable<void> ProvisioningCache::put(const T& v) {        \
    co_await store_.put(v);                                   \
    clear();                                                  \
    generation_ = "?";                                        \
    checked_ = {};                                            \
  }
DP_PROV_CACHE_PUT(core::Account)
DP_PROV_CACHE_PUT(core::Application)
DP_PROV_CACHE_PUT(core::PhoneNumber)
DP_PROV_CACHE_PUT(core::SipDomain)
DP_PROV_CACHE_PUT(core::Carrier)
DP_PROV_CACHE_PUT(core::SipUser)
DP_PROV_CACHE_PUT(core::LcrRoute)
#undef DP_PROV_CACHE_PUT

awaitable<bool> ProvisioningCache::remove(const std::string& kind, const std::string& key) {
  bool removed = co_await store_.remove(kind, key);
  clear();
  generation_ = "?";
  checked_ = {};
  co_return removed;
}

}  // namespace dp::app
