#include "app/config/seed.hpp"

#include "app/api/rest/rest_api.hpp"
#include "core/log.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace dp::app {
namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// References resolve against the seed first, then Redis.
class SeedResolver : public RefResolver {
 public:
  using RefResolver::RefResolver;
  std::map<std::string, core::Account> accounts;
  std::map<std::string, core::Application> applications;
  std::map<std::string, core::Carrier> carriers;
  std::map<std::string, core::SipDomain> domains;

  awaitable<std::optional<core::Account>> account(const std::string& sid) override {
    if (auto it = accounts.find(sid); it != accounts.end()) co_return it->second;
    co_return co_await store_.account(sid);
  }
  awaitable<std::optional<core::Application>> application(const std::string& sid) override {
    if (auto it = applications.find(sid); it != applications.end()) co_return it->second;
    co_return co_await store_.application(sid);
  }
  awaitable<std::optional<core::Carrier>> carrier(const std::string& sid) override {
    if (auto it = carriers.find(sid); it != carriers.end()) co_return it->second;
    co_return co_await store_.carrier(sid);
  }
  awaitable<std::optional<core::SipDomain>> sip_domain(const std::string& domain) override {
    if (auto it = domains.find(domain); it != domains.end()) co_return it->second;
    co_return co_await store_.sip_domain(domain);
  }
};

// "accounts[0] \"Demo\"", "sip_users[1] \"bob@example.com\"" — index plus a human handle when the raw entry has one (never a secret field).
std::string label(const char* section, std::size_t i, const json::value& v) {
  std::string out = std::string(section) + "[" + std::to_string(i) + "]";
  if (v.is_object()) {
    auto str = [&](const char* f) -> std::string {
      auto it = v.get_object().find(f);
      return it != v.get_object().end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
    };
    if (std::string_view(section) == "sip_users") return out + " \"" + str("username") + "@" + str("domain") + "\"";
    for (const char* f : {"name", "number", "domain"}) {
      if (auto s = str(f); !s.empty()) return out + " \"" + s + "\"";
    }
  }
  return out;
}

[[noreturn]] void fail(const std::string& what, const std::string& err) {
  throw std::runtime_error("seed: " + what + ": " + err);
}

const json::array& section(const json::object& seed, const char* name) {
  static const json::array empty;
  auto it = seed.find(name);
  if (it == seed.end() || it->value().is_null()) return empty;
  if (!it->value().is_array()) fail(name, "must be an array");
  return it->value().get_array();
}

template <class T, class Parse>
std::vector<std::pair<std::string, T>> parse_all(const json::object& seed, const char* name, Parse parse) {
  std::vector<std::pair<std::string, T>> out;
  std::size_t i = 0;
  for (const auto& v : section(seed, name)) {
    std::string what = label(name, i++, v), err;
    auto t = parse(v, err);
    if (!t) fail(what, err);
    out.emplace_back(std::move(what), std::move(*t));
  }
  return out;
}

void need_sid(const std::string& what, const std::string& sid, const char* field) {
  if (sid.empty()) fail(what, std::string(field) + ": is required in a seed");
}

template <class T, class KeyFn>
void no_duplicates(const std::vector<std::pair<std::string, T>>& v, KeyFn key) {
  std::map<std::string, std::string> seen;
  for (const auto& [what, t] : v)
    if (!seen.emplace(key(t), what).second) fail(what, "duplicates " + seen[key(t)]);
}

template <class T>
using Entries = std::vector<std::pair<std::string, T>>;  // (label for messages, entity)

struct Seed {
  Entries<core::Account> accounts;
  Entries<core::Application> applications;
  Entries<core::PhoneNumber> numbers;
  Entries<core::SipDomain> domains;
  Entries<core::Carrier> carriers;
  Entries<core::SipUser> users;
};

// Each entity valid on its own, sids present, nothing twice; references are checked by check_seed_refs.
Seed parse_seed(const json::value& seed_v) {
  if (!seed_v.is_object()) fail("file", "must be a JSON object");
  const json::object& seed = seed_v.get_object();
  for (const auto& kv : seed) {
    static const char* known[] = {"accounts", "applications", "phone_numbers", "sip_domains", "carriers", "sip_users"};
    if (std::find(std::begin(known), std::end(known), std::string_view(kv.key())) == std::end(known))
      fail(std::string(kv.key()), "unknown property");
  }

  Seed s;
  s.accounts = parse_all<core::Account>(seed, "accounts", core::account_from_json);
  s.applications = parse_all<core::Application>(seed, "applications", core::application_from_json);
  s.numbers = parse_all<core::PhoneNumber>(seed, "phone_numbers", core::phone_number_from_json);
  s.domains = parse_all<core::SipDomain>(seed, "sip_domains", core::sip_domain_from_json);
  s.carriers = parse_all<core::Carrier>(seed, "carriers", core::carrier_from_json);
  s.users = parse_all<core::SipUser>(seed, "sip_users", core::sip_user_from_json);

  for (const auto& [w, a] : s.accounts) need_sid(w, a.account_sid, "account_sid");
  for (const auto& [w, a] : s.applications) need_sid(w, a.application_sid, "application_sid");
  for (const auto& [w, c] : s.carriers) need_sid(w, c.carrier_sid, "carrier_sid");
  no_duplicates(s.accounts, [](const core::Account& a) { return a.account_sid; });
  no_duplicates(s.applications, [](const core::Application& a) { return a.application_sid; });
  no_duplicates(s.carriers, [](const core::Carrier& c) { return c.carrier_sid; });
  no_duplicates(s.carriers, [](const core::Carrier& c) { return c.account_sid + ":" + core::to_lower_ascii(c.name); });
  no_duplicates(s.numbers, [](const core::PhoneNumber& p) { return core::normalize_number(p.number); });
  no_duplicates(s.domains, [](const core::SipDomain& d) { return d.domain; });
  no_duplicates(s.users, [](const core::SipUser& u) { return u.domain + "/" + u.username; });
  return s;
}

// Every reference resolves, to the seed itself or to what Redis already holds.
awaitable<void> check_seed_refs(ProvisioningPort& store, const Seed& seed) {
  SeedResolver refs(store);
  for (const auto& [w, a] : seed.accounts) refs.accounts[a.account_sid] = a;
  for (const auto& [w, a] : seed.applications) refs.applications[a.application_sid] = a;
  for (const auto& [w, c] : seed.carriers) refs.carriers[c.carrier_sid] = c;
  for (const auto& [w, d] : seed.domains) refs.domains[d.domain] = d;

  // Plain loops with named locals (docs/coroutines.md, rule 1).
  for (const auto& it : seed.accounts) {
    auto e = co_await check_refs(refs, it.second);
    if (e) fail(it.first, *e);
  }
  for (const auto& it : seed.applications) {
    auto e = co_await check_refs(refs, it.second);
    if (e) fail(it.first, *e);
  }
  for (const auto& it : seed.carriers) {
    auto e = co_await check_refs(refs, it.second);
    if (e) fail(it.first, *e);
    auto other = co_await store.carrier_by_name(it.second.account_sid, it.second.name);
    if (other && other->carrier_sid != it.second.carrier_sid)
      fail(it.first, "name: another carrier of the account has this name");
  }
  for (const auto& it : seed.numbers) {
    auto e = co_await check_refs(refs, it.second);
    if (e) fail(it.first, *e);
  }
  for (const auto& it : seed.domains) {
    auto e = co_await check_refs(refs, it.second);
    if (e) fail(it.first, *e);
  }
  for (const auto& it : seed.users) {
    auto e = co_await check_refs(refs, it.second);
    if (e) fail(it.first, *e);
  }
}

}  // namespace

awaitable<void> load_seed(ProvisioningPort& store, const json::value& seed_v) {
  const Seed seed = parse_seed(seed_v);
  co_await check_seed_refs(store, seed);

  // Parents before children, so a concurrent reader never sees a reference to something not yet written.
  for (const auto& it : seed.accounts) co_await store.put(it.second);
  for (const auto& it : seed.carriers) co_await store.put(it.second);
  for (const auto& it : seed.applications) co_await store.put(it.second);
  for (const auto& it : seed.numbers) co_await store.put(it.second);
  for (const auto& it : seed.domains) co_await store.put(it.second);
  for (const auto& it : seed.users) co_await store.put(it.second);

  log::info("seed_loaded", {{"accounts", std::to_string(seed.accounts.size())},
                            {"applications", std::to_string(seed.applications.size())},
                            {"phone_numbers", std::to_string(seed.numbers.size())},
                            {"sip_domains", std::to_string(seed.domains.size())},
                            {"carriers", std::to_string(seed.carriers.size())},
                            {"sip_users", std::to_string(seed.users.size())}});
}

}  // namespace dp::app
