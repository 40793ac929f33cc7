// In-memory ProvisioningPort with the Redis store's semantics: keys normalised the same way, entities kept
// as their storage JSON (so lookups and listings go through the same from_json/to_json as the real store),
// the carrier name index with its DPCONFLICT refusal, the gateway ping set, leg plans, gateway health and the
// max_calls / max_cps slots of docs/carriers.md.
#pragma once
#include "app/ports/provisioning_port.hpp"
#include "core/carrier_select.hpp"
#include "io/redis/redis_client.hpp"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace dp::test {

class FakeProvisioning final : public app::ProvisioningPort {
 public:
  // ---- synchronous writes for test setup (put() does the same) ----
  void add(const core::Account& a) { entities["account"][a.account_sid] = core::to_json(a); }
  void add(const core::Application& a) { entities["application"][a.application_sid] = core::to_json(a); }
  void add(const core::PhoneNumber& p) { entities["phone_number"][core::normalize_number(p.number)] = core::to_json(p); }
  void add(const core::SipDomain& d) { entities["sip_domain"][d.domain] = core::to_json(d); }
  void add(const core::SipUser& u) { entities["sip_user"][u.domain + ":" + u.username] = core::to_json(u); }
  void add(const core::LcrRoute& l) { entities["lcr_route"][l.lcr_route_sid] = core::to_json(l); }
  void add(const core::Carrier& c) {
    auto index = name_key(c.account_sid, c.name);
    if (auto it = carrier_names.find(index); it != carrier_names.end() && it->second != c.carrier_sid)
      throw io::RedisError(io::RedisError::Kind::Reply, "ERR DPCONFLICT carrier name in use");
    if (auto old = get<core::Carrier>("carrier", c.carrier_sid, core::carrier_from_json)) {
      auto old_index = name_key(old->account_sid, old->name);
      if (old_index != index && carrier_names[old_index] == c.carrier_sid) carrier_names.erase(old_index);
    }
    entities["carrier"][c.carrier_sid] = core::to_json(c);
    carrier_names[index] = c.carrier_sid;
    refresh_pings();
  }

  boost::asio::awaitable<std::optional<core::Account>> account(const std::string& sid) override {
    co_return get<core::Account>("account", core::to_lower_ascii(sid), core::account_from_json);
  }
  boost::asio::awaitable<std::optional<core::Application>> application(const std::string& sid) override {
    co_return get<core::Application>("application", core::to_lower_ascii(sid), core::application_from_json);
  }
  boost::asio::awaitable<std::optional<core::PhoneNumber>> phone_number(const std::string& number) override {
    auto n = core::normalize_number(number);
    if (n.empty()) co_return std::nullopt;
    co_return get<core::PhoneNumber>("phone_number", n, core::phone_number_from_json);
  }
  boost::asio::awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain) override {
    co_return get<core::SipDomain>("sip_domain", core::to_lower_ascii(domain), core::sip_domain_from_json);
  }
  boost::asio::awaitable<std::optional<core::Carrier>> carrier(const std::string& sid) override {
    co_return get<core::Carrier>("carrier", core::to_lower_ascii(sid), core::carrier_from_json);
  }
  boost::asio::awaitable<std::optional<core::Carrier>> carrier_by_name(const std::string& account_sid,
                                                                       const std::string& name) override {
    auto it = carrier_names.find(name_key(account_sid, name));
    if (it == carrier_names.end()) co_return std::nullopt;
    auto c = get<core::Carrier>("carrier", it->second, core::carrier_from_json);
    if (c && c->account_sid == core::to_lower_ascii(account_sid)) co_return c;
    co_return std::nullopt;
  }
  boost::asio::awaitable<std::optional<core::SipUser>> sip_user(const std::string& domain,
                                                                const std::string& username) override {
    co_return get<core::SipUser>("sip_user", core::to_lower_ascii(domain) + ":" + username, core::sip_user_from_json);
  }
  boost::asio::awaitable<std::optional<core::LcrRoute>> lcr_route(const std::string& sid) override {
    co_return get<core::LcrRoute>("lcr_route", core::to_lower_ascii(sid), core::lcr_route_from_json);
  }

  boost::asio::awaitable<void> put(const core::Account& a) override { add(a); co_return; }
  boost::asio::awaitable<void> put(const core::Application& a) override { add(a); co_return; }
  boost::asio::awaitable<void> put(const core::PhoneNumber& p) override { add(p); co_return; }
  boost::asio::awaitable<void> put(const core::SipDomain& d) override { add(d); co_return; }
  boost::asio::awaitable<void> put(const core::Carrier& c) override { add(c); co_return; }
  boost::asio::awaitable<void> put(const core::SipUser& u) override { add(u); co_return; }
  boost::asio::awaitable<void> put(const core::LcrRoute& l) override { add(l); co_return; }

  boost::asio::awaitable<bool> remove(const std::string& kind, const std::string& key) override {
    auto& rows = rows_of(kind);
    std::string member = core::provisioning_member(kind, key);
    if (kind == "carrier")
      if (auto old = get<core::Carrier>("carrier", member, core::carrier_from_json))
        if (carrier_names[name_key(old->account_sid, old->name)] == member)
          carrier_names.erase(name_key(old->account_sid, old->name));
    bool removed = rows.erase(member) > 0;
    if (kind == "carrier") refresh_pings();
    co_return removed;
  }

  boost::asio::awaitable<std::vector<boost::json::object>> list(const std::string& kind) override {
    std::vector<boost::json::object> out;
    for (const auto& [member, o] : rows_of(kind)) out.push_back(o);
    co_return out;
  }

  boost::asio::awaitable<std::vector<core::LcrRoute>> lcr_routes(const std::string& account_sid) override {
    std::vector<core::LcrRoute> out;
    for (const auto& [member, o] : rows_of("lcr_route")) {
      std::string err;
      auto l = core::lcr_route_from_json(o, err);
      if (l && l->account_sid == core::to_lower_ascii(account_sid)) out.push_back(std::move(*l));
    }
    co_return out;
  }
  boost::asio::awaitable<std::vector<core::Carrier>> carriers_of(const std::string& account_sid) override {
    co_return all_carriers(account_sid);
  }
  boost::asio::awaitable<void> refresh_ping_set() override {
    refresh_pings();
    co_return;
  }
  boost::asio::awaitable<std::map<std::string, std::string>> gateway_health() override { co_return health; }

  boost::asio::awaitable<void> put_leg_plan(const std::string& token, const boost::json::object& plan,
                                            int ttl_s) override {
    leg_plans[token] = plan;
    leg_plan_ttls[token] = ttl_s;
    co_return;
  }
  boost::asio::awaitable<std::optional<boost::json::object>> leg_plan(const std::string& token) override {
    auto it = leg_plans.find(token);
    if (it == leg_plans.end()) co_return std::nullopt;
    co_return it->second;
  }

  // The Lua script of the real store, step by step.
  boost::asio::awaitable<int> acquire_slot(const core::Carrier& c, const std::string& member, double now,
                                           int ttl_s) override {
    if (c.max_calls <= 0 && c.max_cps <= 0) co_return 1;
    auto& held = slots[c.carrier_sid];
    std::erase_if(held, [now](const auto& kv) { return kv.second <= now; });
    if (c.max_calls > 0 && !held.count(member) && static_cast<int>(held.size()) >= c.max_calls) co_return 0;
    if (c.max_cps > 0) {
      auto n = ++cps[c.carrier_sid + ":" + std::to_string(static_cast<long long>(now))];
      if (n > c.max_cps) co_return -1;
    }
    held[member] = now + ttl_s;
    co_return 1;
  }
  boost::asio::awaitable<void> release_slot(const std::string& carrier_sid, const std::string& member) override {
    slots[carrier_sid].erase(member);
    co_return;
  }
  boost::asio::awaitable<std::vector<std::string>> slot_members(const std::string& carrier_sid) override {
    std::vector<std::string> out;
    for (const auto& [member, expiry] : slots[carrier_sid]) out.push_back(member);
    co_return out;
  }

  std::map<std::string, std::map<std::string, boost::json::object>> entities;  // kind -> member -> storage JSON
  std::map<std::string, std::string> carrier_names;  // "<account>:<lower name>" -> carrier_sid
  std::set<std::string> ping_set;                    // gateways Kamailio pings
  std::map<std::string, std::string> health;         // gateway key -> "up|<ts>" / "down|<ts>"
  std::map<std::string, boost::json::object> leg_plans;
  std::map<std::string, int> leg_plan_ttls;
  std::map<std::string, std::map<std::string, double>> slots;  // carrier_sid -> member -> expiry
  std::map<std::string, int> cps;                              // "<carrier_sid>:<second>" -> new calls

  // The next entity read or listing throws this (e.g. a Redis timeout).
  void fail_next(io::RedisError::Kind kind) { failure_ = kind; }

 private:
  static std::string name_key(const std::string& account_sid, const std::string& name) {
    return core::to_lower_ascii(account_sid) + ":" + core::to_lower_ascii(name);
  }
  std::map<std::string, boost::json::object>& rows_of(const std::string& kind) {
    if (failure_) {
      auto k = *failure_;
      failure_.reset();
      throw io::RedisError(k, "scripted redis failure");
    }
    static const std::set<std::string> kKinds{"account", "application", "phone_number", "sip_domain",
                                              "carrier", "sip_user",    "lcr_route"};
    if (!kKinds.count(kind)) throw std::invalid_argument("unknown provisioning kind");
    return entities[kind];
  }
  template <class T, class F>
  std::optional<T> get(const std::string& kind, const std::string& member, F from_json) {
    auto& rows = rows_of(kind);
    auto it = rows.find(member);
    if (it == rows.end()) return std::nullopt;
    std::string err;
    return from_json(it->second, err);
  }
  std::vector<core::Carrier> all_carriers(const std::string& account_sid) {
    std::vector<core::Carrier> out;
    for (const auto& [member, o] : rows_of("carrier")) {
      std::string err;
      auto c = core::carrier_from_json(o, err);
      if (c && (account_sid.empty() || c->account_sid == core::to_lower_ascii(account_sid))) out.push_back(*c);
    }
    return out;
  }
  std::optional<io::RedisError::Kind> failure_;
  void refresh_pings() {
    ping_set.clear();
    for (const auto& c : all_carriers(""))
      for (const auto& g : c.gateways)
        if (g.options_ping) ping_set.insert(core::gateway_key(g));
  }
};

}  // namespace dp::test
