// ProvisioningPort with the lookups of a call's decision path kept in process: accounts, applications, phone
// numbers, SIP domains, an account's carriers and LCR routes (absent entities too). Everything else, and every
// write, goes to the store. Freshness: every provisioning write bumps a generation counter in Redis
// (Keys::prov_generation); the cache compares it at most once per `max_age` and drops everything when it moved,
// and drops everything at once on a write through this instance. So a REST change reaches this instance at
// once and the others within `max_age` (docs/configuration.md: --prov-cache-ms; 0 turns the cache off).
#pragma once
#include "app/observability/metrics.hpp"
#include "app/ports/provisioning_port.hpp"
#include "app/store/keys.hpp"
#include "io/redis/redis_client.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dp::app {

class ProvisioningCache final : public ProvisioningPort {
 public:
  ProvisioningCache(ProvisioningPort& store, io::RedisClient& redis, Keys keys, std::chrono::milliseconds max_age,
                    RedisStats& stats);

  boost::asio::awaitable<std::optional<core::Account>> account(const std::string& sid) override;
  boost::asio::awaitable<std::optional<core::Application>> application(const std::string& sid) override;
  boost::asio::awaitable<std::optional<core::PhoneNumber>> phone_number(const std::string& number) override;
  boost::asio::awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain) override;
  boost::asio::awaitable<std::vector<core::LcrRoute>> lcr_routes(const std::string& account_sid) override;
  boost::asio::awaitable<std::vector<core::Carrier>> carriers_of(const std::string& account_sid) override;

  // Not cached: read from the store.
  boost::asio::awaitable<std::optional<core::Carrier>> carrier(const std::string& sid) override {
    return store_.carrier(sid);
  }
  boost::asio::awaitable<std::optional<core::Carrier>> carrier_by_name(const std::string& account_sid,
                                                                       const std::string& name) override {
    return store_.carrier_by_name(account_sid, name);
  }
  boost::asio::awaitable<std::optional<core::SipUser>> sip_user(const std::string& domain,
                                                                const std::string& username) override {
    return store_.sip_user(domain, username);
  }
  boost::asio::awaitable<std::optional<core::LcrRoute>> lcr_route(const std::string& sid) override {
    return store_.lcr_route(sid);
  }
  boost::asio::awaitable<std::vector<boost::json::object>> list(const std::string& kind) override {
    return store_.list(kind);
  }
  boost::asio::awaitable<void> refresh_ping_set() override { return store_.refresh_ping_set(); }
  boost::asio::awaitable<std::map<std::string, std::string>> gateway_health() override {
    return store_.gateway_health();
  }
  boost::asio::awaitable<void> put_leg_plan(const std::string& token, const boost::json::object& plan,
                                            int ttl_s) override {
    return store_.put_leg_plan(token, plan, ttl_s);
  }
  boost::asio::awaitable<std::optional<boost::json::object>> leg_plan(const std::string& token) override {
    return store_.leg_plan(token);
  }
  boost::asio::awaitable<int> acquire_slot(const core::Carrier& c, const std::string& member, double now,
                                           int ttl_s) override {
    return store_.acquire_slot(c, member, now, ttl_s);
  }
  boost::asio::awaitable<void> release_slot(const std::string& carrier_sid, const std::string& member) override {
    return store_.release_slot(carrier_sid, member);
  }
  boost::asio::awaitable<std::vector<std::string>> slot_members(const std::string& carrier_sid) override {
    return store_.slot_members(carrier_sid);
  }

  // Writes: to the store, then this instance's cache is dropped.
  boost::asio::awaitable<void> put(const core::Account& v) override;
  boost::asio::awaitable<void> put(const core::Application& v) override;
  boost::asio::awaitable<void> put(const core::PhoneNumber& v) override;
  boost::asio::awaitable<void> put(const core::SipDomain& v) override;
  boost::asio::awaitable<void> put(const core::Carrier& v) override;
  boost::asio::awaitable<void> put(const core::SipUser& v) override;
  boost::asio::awaitable<void> put(const core::LcrRoute& v) override;
  boost::asio::awaitable<bool> remove(const std::string& kind, const std::string& key) override;

  std::size_t hits() const { return hits_; }
  std::size_t misses() const { return misses_; }

 private:
  template <class T>
  using Map = std::unordered_map<std::string, T>;

  // Drops everything when the generation moved (checked at most once per max_age).
  boost::asio::awaitable<void> revalidate();
  void clear();
  // The cached value of `key` in `map`, else `load()` stored under it.
  template <class T, class Load>
  boost::asio::awaitable<T> cached(Map<T>& map, const std::string& key, Load load);

  ProvisioningPort& store_;
  io::RedisClient& redis_;
  Keys keys_;
  RedisStats& stats_;
  std::chrono::milliseconds max_age_;
  std::chrono::steady_clock::time_point checked_{};
  std::string generation_;
  std::size_t hits_ = 0, misses_ = 0;
  Map<std::optional<core::Account>> accounts_;
  Map<std::optional<core::Application>> applications_;
  Map<std::optional<core::PhoneNumber>> numbers_;
  Map<std::optional<core::SipDomain>> domains_;
  Map<std::vector<core::LcrRoute>> lcr_;
  Map<std::vector<core::Carrier>> carriers_;
  static constexpr std::size_t kMaxEntries = 20000;  // per map; dropped whole beyond it
};

}  // namespace dp::app
