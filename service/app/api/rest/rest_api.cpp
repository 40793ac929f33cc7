#include "app/api/rest/rest_api.hpp"

#include "core/carrier_select.hpp"
#include "core/json_get.hpp"
#include "core/log.hpp"
#include "io/clock.hpp"
#include "io/redis/redis_client.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <type_traits>

// Awaited values go into named locals before being tested (docs/coroutines.md, rule 1).

namespace dp::app {
namespace json = boost::json;
using boost::asio::awaitable;

// ---------------------------------------------------------------- references

awaitable<std::optional<core::Account>> RefResolver::account(const std::string& sid) { return store_.account(sid); }
awaitable<std::optional<core::Application>> RefResolver::application(const std::string& sid) {
  return store_.application(sid);
}
awaitable<std::optional<core::Carrier>> RefResolver::carrier(const std::string& sid) { return store_.carrier(sid); }
awaitable<std::optional<core::SipDomain>> RefResolver::sip_domain(const std::string& domain) {
  return store_.sip_domain(domain);
}

namespace {

awaitable<std::optional<std::string>> need_account(RefResolver& r, const std::string& sid) {
  auto acct = co_await r.account(sid);
  if (!acct) co_return "account_sid: account " + sid + " does not exist";
  co_return std::nullopt;
}

// The application a number/domain routes to must exist and belong to the same account.
awaitable<std::optional<std::string>> need_application(RefResolver& r, const std::string& sid,
                                                       const std::string& account_sid) {
  auto app = co_await r.application(sid);
  if (!app) co_return "application_sid: application " + sid + " does not exist";
  if (app->account_sid != account_sid) co_return "application_sid: application " + sid + " belongs to another account";
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> need_carrier(RefResolver& r, std::string_view field, const std::string& sid,
                                                   const std::string& account_sid) {
  auto c = co_await r.carrier(sid);
  if (!c) co_return std::string(field) + ": carrier " + sid + " does not exist";
  if (c->account_sid != account_sid) co_return std::string(field) + ": carrier " + sid + " belongs to another account";
  co_return std::nullopt;
}

}  // namespace

awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::Account& a) {
  if (a.default_carrier_sid.empty()) co_return std::nullopt;
  co_return co_await need_carrier(r, "default_carrier_sid", a.default_carrier_sid, a.account_sid);
}

awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::Application& a) {
  co_return co_await need_account(r, a.account_sid);
}

awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::PhoneNumber& p) {
  auto e = co_await need_account(r, p.account_sid);
  if (e) co_return e;
  e = co_await need_application(r, p.application_sid, p.account_sid);
  if (e) co_return e;
  if (!p.carrier_sid.empty()) co_return co_await need_carrier(r, "carrier_sid", p.carrier_sid, p.account_sid);
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::SipDomain& d) {
  auto e = co_await need_account(r, d.account_sid);
  if (e) co_return e;
  co_return co_await need_application(r, d.application_sid, d.account_sid);
}

awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::Carrier& c) {
  co_return co_await need_account(r, c.account_sid);
}

awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::LcrRoute& l) {
  auto e = co_await need_account(r, l.account_sid);
  if (e) co_return e;
  for (const auto& sid : l.carriers) {
    e = co_await need_carrier(r, "carriers", sid, l.account_sid);
    if (e) co_return e;
  }
  co_return std::nullopt;
}

// A user may only live in its own account's realm or SIP domains; otherwise one customer could register
// users (and take calls) in another customer's domain.
awaitable<std::optional<std::string>> check_refs(RefResolver& r, const core::SipUser& u) {
  auto acct = co_await r.account(u.account_sid);
  if (!acct) co_return "account_sid: account " + u.account_sid + " does not exist";
  if (acct->sip_realm == u.domain) co_return std::nullopt;
  auto dom = co_await r.sip_domain(u.domain);
  if (dom && dom->account_sid == u.account_sid) co_return std::nullopt;
  co_return "domain: " + u.domain + " is neither the sip_realm nor a SIP domain of account " + u.account_sid;
}

// ---------------------------------------------------------------- kinds

namespace {

std::optional<std::string> uuid_key(std::string_view p) {
  if (!core::is_uuid(p)) return std::nullopt;
  return core::to_lower_ascii(p);
}

void fill(json::object& o, std::string_view field, std::string_view value) {
  if (!o.contains(field) || o.at(field).is_null()) o[field] = value;
}

std::string random_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  return core::format_uuid_v4(b);
}

// Per-kind traits used by the generic handler. `key` is the canonical store key derived from the URL id.
struct AccountKind {
  using T = core::Account;
  static constexpr const char* kind = "account";
  static constexpr bool generated = true;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::account_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) { return uuid_key(p); }
  static void fill_from_path(json::object& o, std::string_view p) { fill(o, "account_sid", p); }
  static std::string& sid(T& t) { return t.account_sid; }
  static std::string id(const T& t) { return t.account_sid; }
  static std::string key(const T& t) { return t.account_sid; }
  static const char* id_field() { return "account_sid"; }
  static std::string parent_account(const T&) { return {}; }
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) { return s.account(k); }
};

struct ApplicationKind {
  using T = core::Application;
  static constexpr const char* kind = "application";
  static constexpr bool generated = true;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::application_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) { return uuid_key(p); }
  static void fill_from_path(json::object& o, std::string_view p) { fill(o, "application_sid", p); }
  static std::string& sid(T& t) { return t.application_sid; }
  static std::string id(const T& t) { return t.application_sid; }
  static std::string key(const T& t) { return t.application_sid; }
  static const char* id_field() { return "application_sid"; }
  static std::string parent_account(const T& t) { return t.account_sid; }
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) { return s.application(k); }
};

struct CarrierKind {
  using T = core::Carrier;
  static constexpr const char* kind = "carrier";
  static constexpr bool generated = true;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::carrier_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) { return uuid_key(p); }
  static void fill_from_path(json::object& o, std::string_view p) { fill(o, "carrier_sid", p); }
  static std::string& sid(T& t) { return t.carrier_sid; }
  static std::string id(const T& t) { return t.carrier_sid; }
  static std::string key(const T& t) { return t.carrier_sid; }
  static const char* id_field() { return "carrier_sid"; }
  static std::string parent_account(const T& t) { return t.account_sid; }
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) { return s.carrier(k); }
};

struct PhoneNumberKind {
  using T = core::PhoneNumber;
  static constexpr const char* kind = "phone_number";
  static constexpr bool generated = false;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::phone_number_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) {
    std::string n = core::normalize_number(std::string(p));
    if (n.empty() || n.size() > 20 || n.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return n;
  }
  static void fill_from_path(json::object& o, std::string_view p) { fill(o, "number", p); }
  static std::string& sid(T& t) { return t.number; }
  static std::string id(const T& t) { return t.number; }
  static std::string key(const T& t) { return core::normalize_number(t.number); }
  static const char* id_field() { return "number"; }
  static std::string parent_account(const T& t) { return t.account_sid; }
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) { return s.phone_number(k); }
};

struct SipDomainKind {
  using T = core::SipDomain;
  static constexpr const char* kind = "sip_domain";
  static constexpr bool generated = false;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::sip_domain_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) {
    if (!core::is_hostname(p)) return std::nullopt;
    return core::to_lower_ascii(p);
  }
  static void fill_from_path(json::object& o, std::string_view p) { fill(o, "domain", p); }
  static std::string& sid(T& t) { return t.domain; }
  static std::string id(const T& t) { return t.domain; }
  static std::string key(const T& t) { return t.domain; }
  static const char* id_field() { return "domain"; }
  static std::string parent_account(const T& t) { return t.account_sid; }
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) { return s.sip_domain(k); }
};

// URL id is `username@domain`; the store key is `domain/username`.
struct SipUserKind {
  using T = core::SipUser;
  static constexpr const char* kind = "sip_user";
  static constexpr bool generated = false;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::sip_user_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) {
    auto at = p.find('@');
    if (at == std::string_view::npos) return std::nullopt;
    auto user = p.substr(0, at), dom = p.substr(at + 1);
    if (!core::is_sip_token(user) || user.size() > 64 || !core::is_hostname(dom)) return std::nullopt;
    return core::to_lower_ascii(dom) + "/" + std::string(user);
  }
  static void fill_from_path(json::object& o, std::string_view p) {
    auto at = p.find('@');
    fill(o, "username", p.substr(0, at));
    fill(o, "domain", p.substr(at + 1));
  }
  static std::string id(const T& t) { return t.username + "@" + t.domain; }
  static std::string key(const T& t) { return t.domain + "/" + t.username; }
  static const char* id_field() { return "username"; }
  static std::string parent_account(const T& t) { return t.account_sid; }
  // A coroutine (not a plain forwarder) so the split strings live until the lookup has run.
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) {
    auto slash = k.find('/');
    std::string dom = k.substr(0, slash), user = k.substr(slash + 1);
    co_return co_await s.sip_user(dom, user);
  }
};

struct LcrRouteKind {
  using T = core::LcrRoute;
  static constexpr const char* kind = "lcr_route";
  static constexpr bool generated = true;
  static std::optional<T> parse(const json::value& v, std::string& e) { return core::lcr_route_from_json(v, e); }
  static std::optional<std::string> key_from_path(std::string_view p) { return uuid_key(p); }
  static void fill_from_path(json::object& o, std::string_view p) { fill(o, "lcr_route_sid", p); }
  static std::string& sid(T& t) { return t.lcr_route_sid; }
  static std::string id(const T& t) { return t.lcr_route_sid; }
  static std::string key(const T& t) { return t.lcr_route_sid; }
  static const char* id_field() { return "lcr_route_sid"; }
  static std::string parent_account(const T& t) { return t.account_sid; }
  static awaitable<std::optional<T>> fetch(ProvisioningPort& s, const std::string& k) { return s.lcr_route(k); }
};

// What must go before an entity can be deleted: (kind, field that refers to it).
struct Dependent {
  const char* kind;
  const char* field;
};

std::vector<Dependent> dependents(std::string_view kind) {
  if (kind == "account")
    return {{"application", "account_sid"}, {"phone_number", "account_sid"}, {"sip_domain", "account_sid"},
            {"carrier", "account_sid"},     {"sip_user", "account_sid"},      {"lcr_route", "account_sid"}};
  if (kind == "application") return {{"phone_number", "application_sid"}, {"sip_domain", "application_sid"}};
  if (kind == "carrier")
    return {{"phone_number", "carrier_sid"}, {"account", "default_carrier_sid"}, {"lcr_route", "carriers"}};
  if (kind == "sip_domain") return {{"sip_user", "domain"}};
  return {};
}

std::string describe(std::string_view kind, const json::object& o) {
  auto str = [&](const char* f) -> std::string {
    auto it = o.find(f);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
  };
  if (kind == "phone_number") return str("number");
  if (kind == "sip_domain") return str("domain");
  if (kind == "sip_user") return str("username") + "@" + str("domain");
  return str((std::string(kind) + "_sid").c_str());
}

// Scans listings, so it is O(entities); provisioning tables are small and deletes rare.
awaitable<std::optional<std::string>> in_use(ProvisioningPort& store, std::string_view kind, const std::string& key) {
  for (const auto& d : dependents(kind)) {
    auto rows = co_await store.list(d.kind);
    for (const auto& o : rows) {
      auto it = o.find(d.field);
      bool refers = it != o.end() && it->value().is_string() && it->value().get_string() == key;
      if (it != o.end() && it->value().is_array())  // lcr_route.carriers
        for (const auto& v : it->value().get_array()) refers = refers || (v.is_string() && v.get_string() == key);
      if (refers)
        co_return std::string(kind) + " " + key + " is in use by " + d.kind + " " + describe(d.kind, o);
    }
  }
  co_return std::nullopt;
}

io::ServerResponse json_response(int status, const json::value& body) {
  io::ServerResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

io::ServerResponse error_response(int status, const std::string& msg) {
  return json_response(status, json::object{{"msg", msg}});
}

io::ServerResponse no_content() {
  io::ServerResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

io::ServerResponse method_not_allowed(const char* allow) {
  auto r = error_response(405, "method not allowed");
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::string header(const io::ServerRequest& req, std::string_view lower_name) {
  for (const auto& [k, v] : req.headers)
    if (k == lower_name) return v;
  return {};
}

// Strips HTTP optional whitespace (spaces, tabs) at both ends.
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "application/json", any case, parameters (charset) allowed.
bool is_json_media_type(std::string_view content_type) {
  return core::to_lower_ascii(trim_ows(content_type.substr(0, content_type.find(';')))) == "application/json";
}

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), out.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256 failed");
  return out;
}

}  // namespace

// ---------------------------------------------------------------- RestApi

RestApi::RestApi(ProvisioningPort& store, std::vector<std::string> api_keys) : store_(store) {
  for (const auto& k : api_keys)
    if (!k.empty()) key_digests_.push_back(sha256(k));
  if (key_digests_.empty()) log::warn("rest_api_no_keys", {{"effect", "every REST request is refused with 401"}});
}

// Both sides are hashed so the comparison is constant-time and independent of the key lengths; every configured
// key is compared so timing does not reveal which one matched.
bool RestApi::authorized(const io::ServerRequest& req) const {
  if (key_digests_.empty()) return false;
  std::string auth = header(req, "authorization");
  if (auth.size() < 7 || core::to_lower_ascii(auth.substr(0, 7)) != "bearer ") return false;
  std::string_view token = trim_ows(std::string_view(auth).substr(7));
  if (token.empty()) return false;
  auto d = sha256(token);
  int ok = 0;
  for (const auto& k : key_digests_) ok |= CRYPTO_memcmp(d.data(), k.data(), d.size()) == 0;
  return ok != 0;
}

std::optional<io::ServerResponse> RestApi::check_headers(const io::ServerRequest& req) const {
  if (!authorized(req)) {
    log::info("rest_unauthorized", {{"ip", req.remote_ip}});
    return error_response(401, "missing or invalid API key");
  }
  if ((req.method == "POST" || req.method == "PUT") && !is_json_media_type(header(req, "content-type")))
    return error_response(415, "Content-Type must be application/json");
  return std::nullopt;
}

namespace {

// A request path under /v1/: a collection, maybe an entity id, or a carrier's health page.
struct RestRoute {
  std::string collection;
  std::string id;              // "" = the collection itself
  bool carrier_health = false;  // /v1/Carriers/<id>/health
};

// nullopt: not a path of the API (404).
std::optional<RestRoute> parse_rest_route(std::string_view path) {
  if (path.substr(0, 4) != "/v1/") return std::nullopt;
  path.remove_prefix(4);
  RestRoute r;
  std::string_view coll = path.substr(0, path.find('/'));
  r.collection = std::string(coll);
  if (coll == "Carriers" && path.size() > 16 && path.substr(path.size() - 7) == "/health") {
    r.carrier_health = true;
    r.id = std::string(path.substr(coll.size() + 1, path.size() - coll.size() - 8));
    return r;
  }
  if (coll.size() < path.size()) {
    r.id = std::string(path.substr(coll.size() + 1));
    if (!r.id.empty() && r.id.back() == '/') r.id.pop_back();
    if (r.id.find('/') != std::string::npos) return std::nullopt;
  }
  return r;
}

io::ServerResponse storage_error(const io::ServerRequest& req, const io::RedisError& e) {
  log::error("rest_storage_error", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
  if (e.kind != io::RedisError::Kind::Reply) return error_response(503, "storage unavailable");
  // The carrier put script refuses a name taken meanwhile by another carrier (lost check-then-write race).
  if (std::string_view(e.what()).find("DPCONFLICT") != std::string_view::npos)
    return error_response(409, "name: a carrier with this name already exists in the account");
  return error_response(500, "storage error");
}

}  // namespace

awaitable<io::ServerResponse> RestApi::handle(io::ServerRequest& req) {
  if (auto refusal = check_headers(req)) co_return std::move(*refusal);
  if (calls_ && CallsApi::handles(req.path)) co_return co_await calls_->handle(req);
  auto route = parse_rest_route(req.path);
  if (!route) co_return error_response(404, "not found");
  if (route->carrier_health) {
    if (req.method != "GET") co_return method_not_allowed("GET");
    try {
      co_return co_await carrier_health(route->id);
    } catch (const std::exception& e) {
      log::error("rest_internal_error", {{"path", req.path}, {"error", e.what()}});
    }
    co_return error_response(503, "storage unavailable");
  }
  try {
    co_return co_await collection(req, route->collection, route->id);
  } catch (const io::RedisError& e) {
    co_return storage_error(req, e);
  } catch (const std::exception& e) {
    log::error("rest_internal_error", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    co_return error_response(500, "internal error");
  }
}

awaitable<io::ServerResponse> RestApi::collection(io::ServerRequest& req, const std::string& name,
                                                  const std::string& id) {
  if (name == "Accounts") co_return co_await dispatch<AccountKind>(req, id);
  if (name == "Applications") co_return co_await dispatch<ApplicationKind>(req, id);
  if (name == "PhoneNumbers") co_return co_await dispatch<PhoneNumberKind>(req, id);
  if (name == "SipDomains") co_return co_await dispatch<SipDomainKind>(req, id);
  if (name == "Carriers") co_return co_await dispatch<CarrierKind>(req, id);
  if (name == "SipUsers") co_return co_await dispatch<SipUserKind>(req, id);
  if (name == "LcrRoutes") co_return co_await dispatch<LcrRouteKind>(req, id);
  co_return error_response(404, "not found");
}

awaitable<io::ServerResponse> RestApi::carrier_health(const std::string& sid) {
  if (!core::is_uuid(sid)) co_return error_response(404, "carrier not found");
  auto c = co_await store_.carrier(sid);
  if (!c) co_return error_response(404, "carrier not found");
  auto health = co_await store_.gateway_health();
  double now = io::wall_now();
  json::array gws;
  for (const auto& g : c->gateways) {
    auto key = core::gateway_key(g);
    std::optional<core::GatewayHealth> h;
    if (auto it = health.find(key); it != health.end()) h = core::parse_gateway_health(it->second);
    std::string state = !g.options_ping ? "not_monitored" : !h ? "unknown" : h->state;
    if (h && now - h->updated > core::kHealthStaleS) state = "stale";
    json::object o{{"gateway", key}, {"options_ping", g.options_ping}, {"state", state},
                   {"usable", core::gateway_usable(h, now)}};
    if (h) o["updated"] = h->updated;
    gws.push_back(std::move(o));
  }
  co_return json_response(200, json::object{{"carrier_sid", c->carrier_sid}, {"name", c->name}, {"gateways", gws}});
}

namespace {

// A carrier's name is unique in its account (the name index). `except_self`: another carrier's use only.
awaitable<bool> carrier_name_taken(ProvisioningPort& store, const core::Carrier& c, bool except_self) {
  auto other = co_await store.carrier_by_name(c.account_sid, c.name);
  co_return other && !(except_self && other->carrier_sid == c.carrier_sid);
}

const char* const kNameTaken = "name: a carrier with this name already exists in the account";

}  // namespace

template <class K>
awaitable<io::ServerResponse> RestApi::dispatch(io::ServerRequest& req, const std::string& id) {
  if (id.empty()) {
    if (req.method == "GET") co_return co_await list<K>(req);
    if (req.method == "POST") co_return co_await create<K>(req);
    co_return method_not_allowed("GET, POST");
  }
  auto key = K::key_from_path(id);
  bool known_method = req.method == "GET" || req.method == "PUT" || req.method == "DELETE";
  if (!known_method) co_return method_not_allowed("GET, PUT, DELETE");
  if (!key) co_return error_response(404, std::string(K::kind) + " not found");
  if (req.method == "GET") co_return co_await read<K>(*key);
  if (req.method == "PUT") co_return co_await replace<K>(req, id, *key);
  co_return co_await remove<K>(*key);
}

template <class K>
awaitable<io::ServerResponse> RestApi::list(io::ServerRequest& req) {
  // Optional filter, as jambonz clients list per account.
  auto f = req.query.find("account_sid");
  json::array out;
  auto rows = co_await store_.list(K::kind);
  for (const auto& o : rows) {
    std::string err;
    auto t = K::parse(o, err);
    if (!t) continue;  // reported by the store's reader when fetched individually
    if (f != req.query.end() && t->account_sid != core::to_lower_ascii(f->second)) continue;
    out.push_back(core::to_public_json(*t));
  }
  co_return json_response(200, out);
}

template <class K>
awaitable<io::ServerResponse> RestApi::create(io::ServerRequest& req) {
  const std::string kind = K::kind;
  std::string err;
  auto body = core::jget::parse_object(req.body, err);
  if (!body) co_return error_response(400, err);
  auto t = K::parse(*body, err);
  if (!t) co_return error_response(400, err);
  if constexpr (K::generated) {
    if (K::sid(*t).empty()) K::sid(*t) = random_uuid();
  }
  auto existing = co_await K::fetch(store_, K::key(*t));
  if (existing)
    co_return error_response(409, std::string(K::id_field()) + ": " + kind + " " + K::id(*t) + " already exists");
  RefResolver refs(store_);
  auto bad_ref = co_await check_refs(refs, *t);
  if (bad_ref) co_return error_response(400, *bad_ref);
  if constexpr (std::is_same_v<typename K::T, core::Carrier>) {
    bool taken = co_await carrier_name_taken(store_, *t, false);
    if (taken) co_return error_response(409, kNameTaken);
  }
  co_await store_.put(*t);
  log::info("rest_created", {{"kind", kind}, {"id", K::id(*t)}});
  co_return json_response(201, json::object{{"sid", K::id(*t)}});
}

template <class K>
awaitable<io::ServerResponse> RestApi::read(const std::string& key) {
  auto t = co_await K::fetch(store_, key);
  if (!t) co_return error_response(404, std::string(K::kind) + " not found");
  co_return json_response(200, core::to_public_json(*t));
}

template <class K>
awaitable<io::ServerResponse> RestApi::replace(io::ServerRequest& req, const std::string& id, const std::string& key) {
  const std::string kind = K::kind;
  std::string err;
  auto body = core::jget::parse_object(req.body, err);
  if (!body) co_return error_response(400, err);
  K::fill_from_path(*body, id);  // the URL names the entity; the body may omit its id
  auto t = K::parse(*body, err);
  if (!t) co_return error_response(400, err);
  if (K::key(*t) != key) co_return error_response(400, std::string(K::id_field()) + ": does not match the URL");
  auto old = co_await K::fetch(store_, key);
  if (!old) co_return error_response(404, kind + " not found");
  // Moving an entity between accounts would silently break the references of its dependents.
  if (K::parent_account(*old) != K::parent_account(*t)) co_return error_response(400, "account_sid: cannot be changed");
  RefResolver refs(store_);
  auto bad_ref = co_await check_refs(refs, *t);
  if (bad_ref) co_return error_response(400, *bad_ref);
  if constexpr (std::is_same_v<typename K::T, core::Carrier>) {
    bool taken = co_await carrier_name_taken(store_, *t, true);
    if (taken) co_return error_response(409, kNameTaken);
  }
  co_await store_.put(*t);
  log::info("rest_replaced", {{"kind", kind}, {"id", K::id(*t)}});
  co_return no_content();
}

template <class K>
awaitable<io::ServerResponse> RestApi::remove(const std::string& key) {
  const std::string kind = K::kind;
  auto t = co_await K::fetch(store_, key);
  if (!t) co_return error_response(404, kind + " not found");
  auto used = co_await in_use(store_, kind, key);
  if (used) co_return error_response(422, *used);
  bool removed = co_await store_.remove(kind, K::key(*t));
  if (!removed) co_return error_response(404, kind + " not found");
  log::info("rest_deleted", {{"kind", kind}, {"id", K::id(*t)}});
  co_return no_content();
}

}  // namespace dp::app
