// Provisioning data in Redis (keys under <prefix>, see docs/redis-keys.md).
#pragma once
#include "core/provisioning.hpp"
#include "io/redis_client.hpp"
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dp::app {

class ProvisioningStore {
 public:
  ProvisioningStore(io::RedisClient& redis, std::string prefix = "dp:");

  boost::asio::awaitable<std::optional<core::Account>> account(const std::string& sid);
  boost::asio::awaitable<std::optional<core::Application>> application(const std::string& sid);
  boost::asio::awaitable<std::optional<core::PhoneNumber>> phone_number(const std::string& number);
  boost::asio::awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain);
  boost::asio::awaitable<std::optional<core::Carrier>> carrier(const std::string& sid);
  boost::asio::awaitable<std::optional<core::Carrier>> carrier_by_name(const std::string& account_sid,
                                                                       const std::string& name);
  boost::asio::awaitable<std::optional<core::SipUser>> sip_user(const std::string& domain,
                                                                const std::string& username);

  boost::asio::awaitable<void> put(const core::Account&);
  boost::asio::awaitable<void> put(const core::Application&);
  boost::asio::awaitable<void> put(const core::PhoneNumber&);
  boost::asio::awaitable<void> put(const core::SipDomain&);
  boost::asio::awaitable<void> put(const core::Carrier&);
  boost::asio::awaitable<void> put(const core::SipUser&);

  // kind: "account" | "application" | "phone_number" | "sip_domain" | "carrier" | "sip_user";
  // key: the sid, number, domain, or "domain/username". Returns false when absent.
  boost::asio::awaitable<bool> remove(const std::string& kind, const std::string& key);
  // All entities of a kind as storage JSON objects.
  boost::asio::awaitable<std::vector<boost::json::object>> list(const std::string& kind);

 private:
  io::RedisClient& redis_;
  std::string prefix_;
};

}  // namespace dp::app
