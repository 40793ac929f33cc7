// Port: provisioning data (accounts, applications, numbers, SIP domains and users, carriers, LCR routes) and the
// carrier state shared by every instance (leg plans, gateway health, call/cps slots). store/provisioning_store
// is the Redis implementation (keys in docs/redis-keys.md); tests/app/fakes the in-memory one.
//
// Lookups normalise their key as the REST API does (sids and domains lower-cased, numbers to digits) and
// return nullopt for an entity that is absent or whose stored record no longer validates (logged).
//
// Errors: every call may throw io::RedisError (Kind::Timeout when the store did not answer within the
// client's command timeout, Kind::Disconnected, Kind::Reply). put(Carrier) throws a Kind::Reply error whose
// message contains "DPCONFLICT" when another carrier of the account took the name meanwhile.
#pragma once
#include "core/provisioning.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dp::app {

class ProvisioningPort {
 public:
  virtual ~ProvisioningPort() = default;

  // --- entities by key ---
  virtual boost::asio::awaitable<std::optional<core::Account>> account(const std::string& sid) = 0;
  virtual boost::asio::awaitable<std::optional<core::Application>> application(const std::string& sid) = 0;
  virtual boost::asio::awaitable<std::optional<core::PhoneNumber>> phone_number(const std::string& number) = 0;
  virtual boost::asio::awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain) = 0;
  virtual boost::asio::awaitable<std::optional<core::Carrier>> carrier(const std::string& sid) = 0;
  // The account's carrier with this name (case-insensitive).
  virtual boost::asio::awaitable<std::optional<core::Carrier>> carrier_by_name(const std::string& account_sid,
                                                                               const std::string& name) = 0;
  virtual boost::asio::awaitable<std::optional<core::SipUser>> sip_user(const std::string& domain,
                                                                        const std::string& username) = 0;
  virtual boost::asio::awaitable<std::optional<core::LcrRoute>> lcr_route(const std::string& sid) = 0;

  // --- writes: create or replace; the caller has validated the entity and its references ---
  virtual boost::asio::awaitable<void> put(const core::Account&) = 0;
  virtual boost::asio::awaitable<void> put(const core::Application&) = 0;
  virtual boost::asio::awaitable<void> put(const core::PhoneNumber&) = 0;
  virtual boost::asio::awaitable<void> put(const core::SipDomain&) = 0;
  // Also keeps the name index and the set of gateways Kamailio pings up to date.
  virtual boost::asio::awaitable<void> put(const core::Carrier&) = 0;
  virtual boost::asio::awaitable<void> put(const core::SipUser&) = 0;
  virtual boost::asio::awaitable<void> put(const core::LcrRoute&) = 0;

  // kind: "account" | "application" | "phone_number" | "sip_domain" | "carrier" | "sip_user" | "lcr_route";
  // key: the sid, number, domain, or "domain/username". Returns false when absent. Throws
  // std::invalid_argument for an unknown kind.
  virtual boost::asio::awaitable<bool> remove(const std::string& kind, const std::string& key) = 0;
  // Every entity of a kind as its storage JSON (secrets included), in no particular order.
  virtual boost::asio::awaitable<std::vector<boost::json::object>> list(const std::string& kind) = 0;

  // --- carriers (docs/carriers.md) ---
  virtual boost::asio::awaitable<std::vector<core::LcrRoute>> lcr_routes(const std::string& account_sid) = 0;
  // The account's carriers ("" = every carrier).
  virtual boost::asio::awaitable<std::vector<core::Carrier>> carriers_of(const std::string& account_sid) = 0;
  // Rewrites the set of gateways Kamailio pings (gateways with options_ping).
  virtual boost::asio::awaitable<void> refresh_ping_set() = 0;
  // Gateway key -> "up|<unix ts>" / "down|<unix ts>", as Kamailio last reported it (core::parse_gateway_health).
  virtual boost::asio::awaitable<std::map<std::string, std::string>> gateway_health() = 0;

  // Leg plans of Kamailio's inner hop: an opaque token -> JSON (with credentials), expiring after ttl_s.
  virtual boost::asio::awaitable<void> put_leg_plan(const std::string& token, const boost::json::object& plan,
                                                    int ttl_s) = 0;
  // nullopt when absent, expired or not a JSON object.
  virtual boost::asio::awaitable<std::optional<boost::json::object>> leg_plan(const std::string& token) = 0;

  // Limits shared by every instance. Takes a slot of carrier `c` for `member` (held until released or until
  // now + ttl_s): 1 = taken (or already held by member, or the carrier has no limits), 0 = at max_calls,
  // -1 = at max_cps in the second `now` falls in.
  virtual boost::asio::awaitable<int> acquire_slot(const core::Carrier& c, const std::string& member, double now,
                                                   int ttl_s) = 0;
  virtual boost::asio::awaitable<void> release_slot(const std::string& carrier_sid, const std::string& member) = 0;
  // The members holding a slot of the carrier (expired ones may still be listed).
  virtual boost::asio::awaitable<std::vector<std::string>> slot_members(const std::string& carrier_sid) = 0;
};

}  // namespace dp::app
