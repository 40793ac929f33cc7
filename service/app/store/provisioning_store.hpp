// Provisioning data in Redis (keys: app/store/keys.hpp, docs/redis-keys.md).
#pragma once
#include "app/store/keys.hpp"
#include "app/ports/provisioning_port.hpp"
#include "core/provisioning.hpp"
#include "io/redis/redis_client.hpp"
#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dp::app {

class ProvisioningStore final : public ProvisioningPort {
 public:
  // teams_ping_keys: gateway keys of the Microsoft Teams proxies (core::teams_dst), put in the ping set while some
  // account has Teams settings (docs/teams.md).
  explicit ProvisioningStore(io::RedisClient& redis, Keys keys = Keys(), std::vector<std::string> teams_ping_keys = {});

  boost::asio::awaitable<std::optional<core::Account>> account(const std::string& sid) override;
  boost::asio::awaitable<std::optional<core::Application>> application(const std::string& sid) override;
  boost::asio::awaitable<std::optional<core::PhoneNumber>> phone_number(const std::string& number) override;
  boost::asio::awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain) override;
  boost::asio::awaitable<std::optional<core::Carrier>> carrier(const std::string& sid) override;
  boost::asio::awaitable<std::optional<core::Carrier>> carrier_by_name(const std::string& account_sid,
                                                                       const std::string& name) override;
  boost::asio::awaitable<std::optional<core::SipUser>> sip_user(const std::string& domain,
                                                                const std::string& username) override;

  boost::asio::awaitable<void> put(const core::Account&) override;
  boost::asio::awaitable<void> put(const core::Application&) override;
  boost::asio::awaitable<void> put(const core::PhoneNumber&) override;
  boost::asio::awaitable<void> put(const core::SipDomain&) override;
  boost::asio::awaitable<void> put(const core::Carrier&) override;
  boost::asio::awaitable<void> put(const core::SipUser&) override;
  boost::asio::awaitable<void> put(const core::LcrRoute&) override;

  // --- carriers (docs/carriers.md) ---
  boost::asio::awaitable<std::optional<core::LcrRoute>> lcr_route(const std::string& sid) override;
  boost::asio::awaitable<std::vector<core::LcrRoute>> lcr_routes(const std::string& account_sid) override;
  boost::asio::awaitable<std::vector<core::Carrier>> carriers_of(const std::string& account_sid) override;
  // Rewrites <prefix>gateways, the set of gateways Kamailio pings (gateways with options_ping).
  boost::asio::awaitable<void> refresh_ping_set() override;
  // <prefix>gwhealth: gateway key -> "up|<ts>" / "down|<ts>", written by Kamailio.
  boost::asio::awaitable<std::map<std::string, std::string>> gateway_health() override;
  // Leg plans of Kamailio's inner hop: <prefix>leg:<token>, JSON with credentials, expiring.
  boost::asio::awaitable<void> put_leg_plan(const std::string& token, const boost::json::object& plan, int ttl_s) override;
  boost::asio::awaitable<std::optional<boost::json::object>> leg_plan(const std::string& token) override;
  // Limits shared by every instance: a slot in <prefix>carrier-calls:<sid> (ZSET member -> expiry) and one
  // count in <prefix>carrier-cps:<sid>:<second>. 1 = taken, 0 = at max_calls, -1 = at max_cps.
  boost::asio::awaitable<int> acquire_slot(const core::Carrier& c, const std::string& member, double now, int ttl_s) override;
  boost::asio::awaitable<void> release_slot(const std::string& carrier_sid, const std::string& member) override;
  boost::asio::awaitable<std::vector<std::string>> slot_members(const std::string& carrier_sid) override;

  // kind: "account" | "application" | "phone_number" | "sip_domain" | "carrier" | "sip_user";
  // key: the sid, number, domain, or "domain/username". Returns false when absent.
  boost::asio::awaitable<bool> remove(const std::string& kind, const std::string& key) override;
  // All entities of a kind as storage JSON objects.
  boost::asio::awaitable<std::vector<boost::json::object>> list(const std::string& kind) override;

 private:
  // Tells every instance's ProvisioningCache that provisioning changed.
  boost::asio::awaitable<void> bump_generation();
  io::RedisClient& redis_;
  Keys keys_;
  std::vector<std::string> teams_ping_keys_;
};

}  // namespace dp::app
