// Every Redis key name dialplane uses, built from --redis-prefix: one function per key family, in the order
// of docs/redis-keys.md. Stores take a Keys; nothing else spells a key. (Kamailio's cfg has its own KEY_PREFIX.)
#pragma once
#include <string>
#include <string_view>
#include <utility>

namespace dp::app {

class Keys {
 public:
  explicit Keys(std::string prefix = "dp:") : p_(std::move(prefix)) {}
  const std::string& prefix() const { return p_; }

  // --- provisioning (ids already normalised: lower-case sids and domains, normalised numbers) ---
  std::string account(std::string_view sid) const { return key("account:", sid); }
  std::string accounts() const { return key("accounts"); }
  std::string application(std::string_view sid) const { return key("application:", sid); }
  std::string applications() const { return key("applications"); }
  std::string number(std::string_view normalised) const { return key("number:", normalised); }
  std::string numbers() const { return key("numbers"); }
  std::string domain(std::string_view domain) const { return key("domain:", domain); }
  std::string domains() const { return key("domains"); }
  std::string carrier(std::string_view sid) const { return key("carrier:", sid); }
  std::string carriers() const { return key("carriers"); }
  // The name index; the carrier scripts derive an old index in Lua from carrier_name_stem() the same way.
  std::string carrier_name(std::string_view account_sid, std::string_view lower_name) const {
    return carrier_name_stem() + std::string(account_sid) + ":" + std::string(lower_name);
  }
  std::string carrier_name_stem() const { return key("carrier-name:"); }
  // member: "<domain>:<username>", the member of sip_users().
  std::string sip_user(std::string_view member) const { return key("sipuser:", member); }
  std::string sip_users() const { return key("sipusers"); }
  std::string lcr_route(std::string_view sid) const { return key("lcr:", sid); }
  std::string lcr_routes() const { return key("lcrs"); }

  // --- carrier gateways and limits ---
  // Bumped by every provisioning write: instances' provisioning caches compare it (ProvisioningCache).
  std::string prov_generation() const { return key("prov-gen"); }
  std::string ping_gateways() const { return key("gateways"); }  // gateways Kamailio OPTIONS-pings
  std::string gateway_health() const { return key("gwhealth"); }
  std::string leg_plan(std::string_view token) const { return key("leg:", token); }
  std::string carrier_calls(std::string_view carrier_sid) const { return key("carrier-calls:", carrier_sid); }
  std::string carrier_cps(std::string_view carrier_sid, std::string_view second) const {
    return key("carrier-cps:", carrier_sid) + ":" + std::string(second);
  }

  // --- calls ---
  std::string call(std::string_view call_sid) const { return key("call:", call_sid); }
  std::string calls_pattern() const { return key("call:*"); }  // SCAN MATCH
  std::string call_id(std::string_view sip_call_id) const { return key("callid:", sip_call_id); }
  // A leg's (child's) call_sid -> its parent call's sid; the set of those keys per call (deleted with it); the
  // account's live calls (REST GET /Calls).
  std::string child(std::string_view leg_sid) const { return key("child:", leg_sid); }
  std::string children(std::string_view call_sid) const { return key("children:", call_sid); }
  std::string account_calls(std::string_view account_sid) const { return key("account-calls:", account_sid); }

  // --- timers and webhook outbox ---
  std::string timers() const { return key("timers"); }
  std::string outbox(std::string_view call_sid) const { return key("outbox:", call_sid); }
  std::string outbox_due() const { return key("outbox-due"); }

 private:
  std::string key(std::string_view family, std::string_view id = {}) const {
    std::string k;
    k.reserve(p_.size() + family.size() + id.size());
    k.append(p_).append(family).append(id);
    return k;
  }

  std::string p_;
};

}  // namespace dp::app
