#include "core/provisioning.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <stdexcept>

namespace dp::core {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxSecret = 256;
constexpr std::size_t kMaxGateways = 32;

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads the properties of one JSON object; the first failure is kept in `err` as "<prefix><field>: <what>".
class Reader {
 public:
  Reader(const json::object& o, std::string prefix, std::string& err) : o_(o), prefix_(std::move(prefix)), err_(err) {}

  bool fail(std::string_view field, std::string_view what) {
    err_ = prefix_;
    err_.append(field);
    err_.append(": ");
    err_.append(what);
    return false;
  }

  bool only(std::initializer_list<std::string_view> allowed) {
    for (const auto& kv : o_) {
      if (std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) == allowed.end())
        return fail(kv.key(), "unknown property");
    }
    return true;
  }

  // nullptr when absent or null (null means "not set" for optional fields).
  const json::value* get(std::string_view k) const {
    auto it = o_.find(k);
    if (it == o_.end() || it->value().is_null()) return nullptr;
    return &it->value();
  }

  // A text field: string, no control characters, length limit. Absent/null leaves `out` untouched.
  bool text(std::string_view k, std::string& out, bool required, std::size_t max = kMaxName) {
    const json::value* v = get(k);
    if (!v) return required ? fail(k, "is required") : true;
    if (!v->is_string()) return fail(k, "must be a string");
    std::string_view s = v->get_string();
    if (s.empty()) return fail(k, "must not be empty");
    if (s.size() > max) return fail(k, "must be at most " + std::to_string(max) + " characters");
    if (has_control(s)) return fail(k, "must not contain control characters");
    out.assign(s);
    return true;
  }

  bool uuid(std::string_view k, std::string& out, bool required) {
    std::string s;
    if (!text(k, s, required, 64)) return false;
    if (s.empty()) return true;
    if (!is_uuid(s)) return fail(k, "must be a UUID");
    out = to_lower_ascii(s);
    return true;
  }

  bool hostname(std::string_view k, std::string& out, bool required) {
    std::string s;
    if (!text(k, s, required, 253)) return false;
    if (s.empty()) return true;
    if (!is_hostname(s)) return fail(k, "must be a hostname");
    out = to_lower_ascii(s);
    return true;
  }

  bool integer(std::string_view k, long long& out, long long lo, long long hi) {
    const json::value* v = get(k);
    if (!v) return true;
    std::string what = "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi);
    long long n = 0;
    if (v->is_int64()) n = v->get_int64();
    else if (v->is_uint64() && v->get_uint64() <= static_cast<unsigned long long>(hi)) n = static_cast<long long>(v->get_uint64());
    else return fail(k, what);
    if (n < lo || n > hi) return fail(k, what);
    out = n;
    return true;
  }

  bool boolean(std::string_view k, bool& out) {
    const json::value* v = get(k);
    if (!v) return true;
    if (!v->is_bool()) return fail(k, "must be a boolean");
    out = v->get_bool();
    return true;
  }

  bool hook(std::string_view k, Hook& out, bool required);

 private:
  const json::object& o_;
  std::string prefix_;
  std::string& err_;
};

// The object form of a hook ({url, method, username, password}); `name` as in parse_hook_named.
bool read_hook_object(const json::object& o, const std::string& name, std::string& err, Hook& h) {
  auto fail = [&](std::string_view what) {
    err = name + std::string(what);
    return false;
  };
  Reader r(o, name + ".", err);
  if (!r.only({"url", "method", "username", "password"})) return false;
  if (!r.text("url", h.url, true, kMaxUrl)) return false;
  std::string method;
  if (!r.text("method", method, false, 8)) return false;
  if (!method.empty()) {
    for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (method != "GET" && method != "POST") return fail(".method: must be GET or POST");
    h.method = method;
  }
  if (!r.text("username", h.username, false) || !r.text("password", h.password, false, kMaxSecret)) return false;
  if (h.username.empty() != h.password.empty()) return fail(": username and password must be given together");
  return true;
}

// `name` is the field path used in messages ("call_hook").
std::optional<Hook> parse_hook_named(const json::value& v, const std::string& name, std::string& err) {
  Hook h;
  auto fail = [&](std::string_view what) {
    err = name + std::string(what);
    return std::nullopt;
  };
  if (v.is_string()) {
    h.url = std::string(v.get_string());
  } else if (v.is_object()) {
    if (!read_hook_object(v.get_object(), name, err, h)) return std::nullopt;
  } else {
    return fail(": must be a URL string or an object with url");
  }
  if (h.url.empty()) return fail(": must not be empty");
  if (h.url.size() > kMaxUrl) return fail(": must be at most 2048 characters");
  auto u = boost::urls::parse_uri(h.url);  // URI, not absolute-URI: jambonz retry options live in the fragment
  if (!u) return fail(": must be an absolute http(s) URL");
  std::string scheme = to_lower_ascii(u->scheme());
  if (scheme == "ws" || scheme == "wss") return fail(": ws(s) URLs are not supported yet");
  if ((scheme != "http" && scheme != "https") || !u->has_authority() || u->encoded_host().empty())
    return fail(": must be an absolute http(s) URL");
  if (auto bad = move_url_credentials(h)) return fail(*bad);
  return h;
}

bool Reader::hook(std::string_view k, Hook& out, bool required) {
  const json::value* v = get(k);
  if (!v) return required ? fail(k, "is required") : true;
  auto h = parse_hook_named(*v, prefix_ + std::string(k), err_);
  if (!h) return false;
  out = std::move(*h);
  return true;
}

const json::object* as_object(const json::value& v, std::string& err) {
  if (!v.is_object()) {
    err = "body: must be a JSON object";
    return nullptr;
  }
  return &v.get_object();
}

json::value opt(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

bool valid_number(std::string_view n) {
  if (!n.empty() && n.front() == '+') n.remove_prefix(1);
  return !n.empty() && n.size() <= 20 && std::all_of(n.begin(), n.end(), is_digit);
}

// Gateway host: hostname, IPv4, or IPv6 (bare or bracketed; stored bracketed so it can go straight into a URI).
std::optional<std::string> gateway_host(std::string_view s) {
  if (is_hostname(s)) return to_lower_ascii(s);
  if (boost::urls::parse_ipv4_address(s)) return std::string(s);
  std::string_view inner = s;
  if (inner.size() > 2 && inner.front() == '[' && inner.back() == ']') inner = inner.substr(1, inner.size() - 2);
  if (boost::urls::parse_ipv6_address(inner)) return "[" + to_lower_ascii(inner) + "]";
  return std::nullopt;
}

}  // namespace

// ---------- format checks ----------

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

bool is_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::string_view last;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // An all-numeric last label would make "1.2.3.999" a "hostname"; IP literals are not hostnames.
  return !std::all_of(last.begin(), last.end(), is_digit);
}

bool is_sip_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (is_alnum(c)) continue;
    switch (c) {
      case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
        continue;
      default:
        return false;
    }
  }
  return true;
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string format_uuid_v4(const unsigned char (&in)[16]) {
  unsigned char b[16];
  std::copy(std::begin(in), std::end(in), b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string md5_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_md5(), nullptr) != 1) throw std::runtime_error("md5 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0x0f]);
  }
  return out;
}

std::string normalize_number(const std::string& n) {
  std::string out;
  out.reserve(n.size());
  for (char c : n) {
    if (c == ' ' || c == '-') continue;
    if (c == '+' && out.empty()) continue;  // only a leading '+'
    out.push_back(c);
  }
  return out;
}

// ---------- hooks ----------

std::optional<Hook> parse_hook(const json::value& v, std::string& err) { return parse_hook_named(v, "hook", err); }

std::string redact_url_password(const std::string& url) {
  auto r = boost::urls::parse_uri_reference(url);
  if (!r || !r->has_password()) return url;
  boost::urls::url u(*r);
  u.set_encoded_password("***");
  return std::string(u.buffer());
}

std::optional<std::string> move_url_credentials(Hook& h) {
  auto r = boost::urls::parse_uri_reference(h.url);
  if (!r || !r->has_userinfo()) return std::nullopt;
  if (!r->has_password() || r->user().empty() || r->password().empty())
    return std::string(": a URL's credentials must be user:password");
  if (!h.username.empty()) return std::string(": credentials both in the URL and in username/password");
  boost::urls::url u(*r);
  u.remove_userinfo();
  // "https://a:b@c:d@host/": an '@' that belongs to no part of a URL
  auto again = boost::urls::parse_uri_reference(u.buffer());
  if (!again || again->has_userinfo()) return std::string(": a URL may carry one user:password@ at most");
  // The same limits as username/password given apart: the stored form is read back with them (the user and
  // password are percent-decoded here, so a %0A is a control character too).
  std::string user = r->user(), password = r->password();
  if (user.size() > kMaxName || has_control(user))
    return ": a URL's user must be at most " + std::to_string(kMaxName) + " characters, no control characters";
  if (password.size() > kMaxSecret || has_control(password))
    return ": a URL's password must be at most " + std::to_string(kMaxSecret) + " characters, no control characters";
  h.username = std::move(user);
  h.password = std::move(password);
  h.url = std::string(u.buffer());
  return std::nullopt;
}

json::value hook_to_json(const Hook& h, bool redact_password) {
  if (h.empty()) return nullptr;
  json::object o{{"url", redact_password ? redact_url_password(h.url) : h.url}, {"method", h.method}};
  if (!h.username.empty()) o["username"] = h.username;
  if (!h.password.empty() && !redact_password) o["password"] = h.password;
  return o;
}

// ---------- from_json ----------

std::optional<Account> account_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  Account a;
  long long teams_port = a.teams_sbc_port;
  if (!r.only({"account_sid", "name", "webhook_secret", "sip_realm", "default_carrier_sid", "teams_sbc_fqdn",
               "teams_sbc_port", "teams_tenant_fqdn"}) ||
      !r.uuid("account_sid", a.account_sid, false) || !r.text("name", a.name, true) ||
      !r.text("webhook_secret", a.webhook_secret, false, kMaxSecret) || !r.hostname("sip_realm", a.sip_realm, false) ||
      !r.uuid("default_carrier_sid", a.default_carrier_sid, false) ||
      !r.hostname("teams_sbc_fqdn", a.teams_sbc_fqdn, false) || !r.integer("teams_sbc_port", teams_port, 1, 65535) ||
      !r.hostname("teams_tenant_fqdn", a.teams_tenant_fqdn, false))
    return std::nullopt;
  a.teams_sbc_port = static_cast<int>(teams_port);
  // Microsoft matches the Contact FQDN against the SBC's certificate and finds the tenant by it: one label
  // ("localhost") can never be paired.
  if (!a.teams_sbc_fqdn.empty() && a.teams_sbc_fqdn.find('.') == std::string::npos) {
    r.fail("teams_sbc_fqdn", "must be a fully qualified domain name (sbc.example.com)");
    return std::nullopt;
  }
  if (!a.teams_tenant_fqdn.empty() && a.teams_tenant_fqdn.find('.') == std::string::npos) {
    r.fail("teams_tenant_fqdn", "must be a fully qualified domain name (contoso.com)");
    return std::nullopt;
  }
  if (a.teams_sbc_fqdn.empty() && !a.teams_tenant_fqdn.empty()) {
    r.fail("teams_tenant_fqdn", "needs teams_sbc_fqdn (the SBC paired with the tenant)");
    return std::nullopt;
  }
  return a;
}

std::optional<Application> application_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  Application a;
  if (!r.only({"application_sid", "account_sid", "name", "call_hook", "call_status_hook"}) ||
      !r.uuid("application_sid", a.application_sid, false) || !r.uuid("account_sid", a.account_sid, true) ||
      !r.text("name", a.name, true) || !r.hook("call_hook", a.call_hook, true) ||
      !r.hook("call_status_hook", a.call_status_hook, false))
    return std::nullopt;
  return a;
}

std::optional<PhoneNumber> phone_number_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  PhoneNumber p;
  if (!r.only({"number", "account_sid", "application_sid", "carrier_sid"}) || !r.text("number", p.number, true, 32))
    return std::nullopt;
  if (!valid_number(p.number)) {
    r.fail("number", "must be digits with an optional leading '+'");
    return std::nullopt;
  }
  if (!r.uuid("account_sid", p.account_sid, true) || !r.uuid("application_sid", p.application_sid, true) ||
      !r.uuid("carrier_sid", p.carrier_sid, false))
    return std::nullopt;
  return p;
}

std::optional<SipDomain> sip_domain_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  SipDomain d;
  if (!r.only({"domain", "account_sid", "application_sid"}) || !r.hostname("domain", d.domain, true) ||
      !r.uuid("account_sid", d.account_sid, true) || !r.uuid("application_sid", d.application_sid, true))
    return std::nullopt;
  return d;
}

namespace {

bool read_gateway(const json::value& gv, const std::string& prefix, std::string& err, Gateway& gw) {
  Reader g(gv.get_object(), prefix + ".", err);
  std::string host;
  if (!g.only({"host", "port", "transport", "priority", "weight", "options_ping"}) || !g.text("host", host, true, 255))
    return false;
  auto h = gateway_host(host);
  if (!h) return g.fail("host", "must be a hostname or IP address");
  gw.host = *h;
  if (const json::value* t = g.get("transport")) {
    if (!t->is_string() || (t->get_string() != "udp" && t->get_string() != "tcp" && t->get_string() != "tls"))
      return g.fail("transport", "must be udp, tcp or tls");
    gw.transport = std::string(t->get_string());
  }
  long long port = gw.transport == "tls" ? 5061 : 5060, prio = 0, weight = 1;
  if (!g.integer("port", port, 1, 65535) || !g.integer("priority", prio, 0, 65535) ||
      !g.integer("weight", weight, 1, 65535))
    return false;
  gw.port = static_cast<uint16_t>(port);
  gw.priority = static_cast<int>(prio);
  gw.weight = static_cast<int>(weight);
  return g.boolean("options_ping", gw.options_ping);
}

bool read_gateways(Reader& r, std::string& err, std::vector<Gateway>& out) {
  const json::value* gws = r.get("gateways");
  if (!gws) return r.fail("gateways", "is required");
  if (!gws->is_array() || gws->get_array().empty()) return r.fail("gateways", "must be a non-empty array");
  if (gws->get_array().size() > kMaxGateways)
    return r.fail("gateways", "must have at most " + std::to_string(kMaxGateways) + " entries");
  std::size_t i = 0;
  for (const auto& gv : gws->get_array()) {
    std::string prefix = "gateways[" + std::to_string(i++) + "]";
    if (!gv.is_object()) return r.fail(prefix, "must be an object");
    Gateway gw;
    if (!read_gateway(gv, prefix, err, gw)) return false;
    out.push_back(std::move(gw));
  }
  return true;
}

bool read_carrier_auth(Reader& r, Carrier& c) {
  if (!r.text("auth_username", c.auth_username, false, 128) || !r.text("auth_password", c.auth_password, false, 128) ||
      !r.text("auth_realm", c.auth_realm, false, 128))
    return false;
  if (c.auth_username.empty() != c.auth_password.empty())
    return r.fail(c.auth_username.empty() ? "auth_username" : "auth_password",
                  "auth_username and auth_password go together");
  for (std::string_view f : {"auth_username", "auth_password", "auth_realm"}) {
    const std::string& val = f == "auth_username" ? c.auth_username : f == "auth_password" ? c.auth_password : c.auth_realm;
    if (val.find_first_of("\"") != std::string::npos) return r.fail(f, "must not contain '\"' or '\\'");
  }
  return true;
}

bool read_source_addresses(Reader& r, std::vector<std::string>& out) {
  const json::value* sa = r.get("source_addresses");
  if (!sa) return true;
  if (!sa->is_array() || sa->get_array().size() > kMaxGateways)
    return r.fail("source_addresses", "must be an array of at most " + std::to_string(kMaxGateways) + " IP addresses");
  for (const auto& a : sa->get_array()) {
    if (!a.is_string()) return r.fail("source_addresses", "must contain IP addresses");
    std::string_view ip = a.get_string();
    if (boost::urls::parse_ipv4_address(ip)) out.emplace_back(ip);
    else if (boost::urls::parse_ipv6_address(ip)) out.push_back(to_lower_ascii(ip));
    else return r.fail("source_addresses", "must contain IP addresses");
  }
  return true;
}

// Absent leaves `out` untouched; present replaces it.
bool read_sip_codes(Reader& r, std::string_view field, std::vector<int>& out) {
  const json::value* cv = r.get(field);
  if (!cv) return true;
  out.clear();
  if (!cv->is_array() || cv->get_array().size() > 64)
    return r.fail(field, "must be an array of SIP status codes (300-699)");
  for (const auto& n : cv->get_array()) {
    if (!n.is_int64() || n.get_int64() < 300 || n.get_int64() > 699)
      return r.fail(field, "must be an array of SIP status codes (300-699)");
    out.push_back(static_cast<int>(n.get_int64()));
  }
  return true;
}

}  // namespace

std::optional<Carrier> carrier_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  Carrier c;
  if (!r.only({"carrier_sid", "account_sid", "name", "gateways", "tech_prefix", "e164_leading_plus", "from_domain",
               "auth_username", "auth_password", "auth_realm", "max_calls", "max_cps", "source_addresses",
               "no_failover_codes", "failover_codes"}) ||
      !r.uuid("carrier_sid", c.carrier_sid, false) || !r.uuid("account_sid", c.account_sid, true) ||
      !r.text("name", c.name, true, 64) || !read_gateways(r, err, c.gateways))
    return std::nullopt;
  if (!r.text("tech_prefix", c.tech_prefix, false, 16)) return std::nullopt;
  if (!std::all_of(c.tech_prefix.begin(), c.tech_prefix.end(),
                   [](char ch) { return is_digit(ch) || ch == '#' || ch == '*' || ch == '+'; }))
    return r.fail("tech_prefix", "must contain only digits, '#', '*' and '+'"), std::nullopt;
  if (!r.boolean("e164_leading_plus", c.e164_leading_plus) || !r.hostname("from_domain", c.from_domain, false) ||
      !read_carrier_auth(r, c))
    return std::nullopt;
  long long max_calls = 0, max_cps = 0;
  if (!r.integer("max_calls", max_calls, 0, 1000000) || !r.integer("max_cps", max_cps, 0, 100000)) return std::nullopt;
  c.max_calls = static_cast<int>(max_calls);
  c.max_cps = static_cast<int>(max_cps);
  if (!read_source_addresses(r, c.source_addresses) || !read_sip_codes(r, "no_failover_codes", c.no_failover_codes) ||
      !read_sip_codes(r, "failover_codes", c.failover_codes))
    return std::nullopt;
  return c;
}

std::optional<LcrRoute> lcr_route_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  LcrRoute l;
  if (!r.only({"lcr_route_sid", "account_sid", "prefix", "carriers", "description"}) ||
      !r.uuid("lcr_route_sid", l.lcr_route_sid, false) || !r.uuid("account_sid", l.account_sid, true) ||
      !r.text("description", l.description, false, 128))
    return std::nullopt;
  if (const json::value* p = r.get("prefix")) {
    if (!p->is_string()) return r.fail("prefix", "must be a string of digits"), std::nullopt;
    std::string s(p->get_string());
    if (!s.empty() && s.front() == '+') s.erase(0, 1);
    if (s.size() > 20 || !std::all_of(s.begin(), s.end(), is_digit))
      return r.fail("prefix", "must be a string of at most 20 digits (a leading '+' is ignored)"), std::nullopt;
    l.prefix = s;
  } else {
    return r.fail("prefix", "is required"), std::nullopt;
  }
  const json::value* cs = r.get("carriers");
  if (!cs || !cs->is_array() || cs->get_array().empty() || cs->get_array().size() > 16)
    return r.fail("carriers", "must be a non-empty array of at most 16 carrier sids"), std::nullopt;
  for (const auto& cv : cs->get_array()) {
    if (!cv.is_string() || !is_uuid(cv.get_string()))
      return r.fail("carriers", "must contain carrier sids (UUIDs)"), std::nullopt;
    auto sid = to_lower_ascii(cv.get_string());
    if (std::find(l.carriers.begin(), l.carriers.end(), sid) != l.carriers.end())
      return r.fail("carriers", "must not repeat a carrier"), std::nullopt;
    l.carriers.push_back(sid);
  }
  return l;
}

// Accepts either `password` (REST create/replace; hashed here) or a precomputed `ha1` (storage form, and seeds
// that do not want plain passwords); exactly one of them.
std::optional<SipUser> sip_user_from_json(const json::value& v, std::string& err) {
  const json::object* o = as_object(v, err);
  if (!o) return std::nullopt;
  Reader r(*o, "", err);
  SipUser u;
  std::string password, ha1;
  if (!r.only({"username", "domain", "account_sid", "password", "ha1"}) || !r.text("username", u.username, true, 64))
    return std::nullopt;
  if (!is_sip_token(u.username))
    return r.fail("username", "must contain only SIP token characters"), std::nullopt;
  if (!r.hostname("domain", u.domain, true) || !r.uuid("account_sid", u.account_sid, true) ||
      !r.text("password", password, false, 128) || !r.text("ha1", ha1, false, 32))
    return std::nullopt;
  if (!password.empty() && !ha1.empty()) return r.fail("ha1", "must not be given together with password"), std::nullopt;
  if (!ha1.empty()) {
    if (ha1.size() != 32 || !std::all_of(ha1.begin(), ha1.end(), is_hex))
      return r.fail("ha1", "must be 32 hex digits"), std::nullopt;
    u.ha1 = to_lower_ascii(ha1);
  } else {
    if (password.empty()) return r.fail("password", "is required"), std::nullopt;
    if (password.size() < 8) return r.fail("password", "must be at least 8 characters"), std::nullopt;
    u.ha1 = md5_hex(u.username + ":" + u.domain + ":" + password);
  }
  return u;
}

// ---------- to_json ----------

json::object to_json(const Account& a) {
  return {{"account_sid", opt(a.account_sid)},
          {"name", a.name},
          {"webhook_secret", opt(a.webhook_secret)},
          {"sip_realm", opt(a.sip_realm)},
          {"default_carrier_sid", opt(a.default_carrier_sid)},
          {"teams_sbc_fqdn", opt(a.teams_sbc_fqdn)},
          {"teams_sbc_port", a.teams_sbc_port},
          {"teams_tenant_fqdn", opt(a.teams_tenant_fqdn)}};
}

json::object to_json(const Application& a) {
  return {{"application_sid", opt(a.application_sid)},
          {"account_sid", a.account_sid},
          {"name", a.name},
          {"call_hook", hook_to_json(a.call_hook, false)},
          {"call_status_hook", hook_to_json(a.call_status_hook, false)}};
}

json::object to_json(const PhoneNumber& p) {
  return {{"number", p.number},
          {"account_sid", p.account_sid},
          {"application_sid", p.application_sid},
          {"carrier_sid", opt(p.carrier_sid)}};
}

json::object to_json(const SipDomain& d) {
  return {{"domain", d.domain}, {"account_sid", d.account_sid}, {"application_sid", d.application_sid}};
}

json::object to_json(const Carrier& c) {
  json::array gws;
  for (const auto& g : c.gateways)
    gws.push_back(json::object{{"host", g.host},
                               {"port", g.port},
                               {"transport", g.transport},
                               {"priority", g.priority},
                               {"weight", g.weight},
                               {"options_ping", g.options_ping}});
  return {{"carrier_sid", opt(c.carrier_sid)}, {"account_sid", c.account_sid},
          {"name", c.name},                   {"gateways", std::move(gws)},
          {"tech_prefix", opt(c.tech_prefix)}, {"e164_leading_plus", c.e164_leading_plus},
          {"from_domain", opt(c.from_domain)},
          {"auth_username", opt(c.auth_username)},
          {"auth_password", opt(c.auth_password)},
          {"auth_realm", opt(c.auth_realm)},
          {"max_calls", c.max_calls},
          {"max_cps", c.max_cps},
          {"source_addresses", json::value_from(c.source_addresses)},
          {"no_failover_codes", json::value_from(c.no_failover_codes)},
          {"failover_codes", json::value_from(c.failover_codes)}};
}

json::object to_json(const LcrRoute& l) {
  return {{"lcr_route_sid", opt(l.lcr_route_sid)}, {"account_sid", l.account_sid}, {"prefix", l.prefix},
          {"carriers", json::value_from(l.carriers)}, {"description", opt(l.description)}};
}

json::object to_json(const SipUser& u) {
  return {{"username", u.username}, {"domain", u.domain}, {"account_sid", u.account_sid}, {"ha1", u.ha1}};
}

json::object to_public_json(const Account& a) {
  json::object o = to_json(a);
  // Short secrets are fully masked: showing the last 4 of a 6-character secret would leak most of it.
  if (!a.webhook_secret.empty())
    o["webhook_secret"] =
        a.webhook_secret.size() > 8 ? "****" + a.webhook_secret.substr(a.webhook_secret.size() - 4) : "****";
  return o;
}

json::object to_public_json(const Application& a) {
  json::object o = to_json(a);
  o["call_hook"] = hook_to_json(a.call_hook, true);
  o["call_status_hook"] = hook_to_json(a.call_status_hook, true);
  return o;
}

json::object to_public_json(const SipUser& u) {
  return {{"username", u.username}, {"domain", u.domain}, {"account_sid", u.account_sid}};
}

json::object to_public_json(const PhoneNumber& p) { return to_json(p); }
json::object to_public_json(const SipDomain& d) { return to_json(d); }
json::object to_public_json(const Carrier& c) {
  json::object o = to_json(c);
  if (!c.auth_password.empty()) o["auth_password"] = "****";
  return o;
}
json::object to_public_json(const LcrRoute& l) { return to_json(l); }

std::string provisioning_member(std::string_view kind, const std::string& key) {
  if (kind == "phone_number") return normalize_number(key);
  if (kind == "sip_user") {
    auto slash = key.find('/');
    if (slash == std::string::npos) throw std::invalid_argument("sip_user key must be domain/username");
    return to_lower_ascii(key.substr(0, slash)) + ":" + key.substr(slash + 1);
  }
  return to_lower_ascii(key);
}

bool sends_from(const Carrier& c, std::string_view ip) {
  return std::find(c.source_addresses.begin(), c.source_addresses.end(), ip) != c.source_addresses.end();
}

}  // namespace dp::core
