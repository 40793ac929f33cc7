#include "core/teams.hpp"

#include "core/carrier_select.hpp"

#include <charconv>

namespace dp::core {

namespace {

constexpr std::size_t kMaxTeamsProxies = 8;

bool parse_port(std::string_view s, uint16_t& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

bool is_ipv4(std::string_view s) {
  int dots = 0, digits = 0;
  for (char c : s) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

// HOST[:PORT]: a hostname or an IPv4 address (no IPv6 here: Microsoft's proxies are names).
bool parse_host_port(std::string_view s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  std::string_view h = s;
  if (colon != std::string_view::npos) {
    if (!parse_port(s.substr(colon + 1), port)) return false;
    h = s.substr(0, colon);
  }
  if (h.empty() || (!is_hostname(h) && !is_ipv4(h))) return false;
  host.assign(h);
  for (auto& c : host)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return true;
}

}  // namespace

std::vector<TeamsProxy> default_teams_proxies() {
  return {{"sip.pstnhub.microsoft.com", "sip.pstnhub.microsoft.com", 5061},
          {"sip2.pstnhub.microsoft.com", "sip2.pstnhub.microsoft.com", 5061},
          {"sip3.pstnhub.microsoft.com", "sip3.pstnhub.microsoft.com", 5061}};
}

std::optional<std::vector<TeamsProxy>> parse_teams_proxies(std::string_view spec, std::string& err) {
  std::vector<TeamsProxy> out;
  while (true) {
    auto comma = spec.find(',');
    auto item = spec.substr(0, comma);
    TeamsProxy p;
    auto eq = item.find('=');
    uint16_t port = 5061;
    bool ok = parse_host_port(item.substr(0, eq), p.host, port);
    p.addr = p.host;
    p.addr_port = port;
    if (ok && eq != std::string_view::npos) {
      uint16_t aport = 5061;
      ok = parse_host_port(item.substr(eq + 1), p.addr, aport);
      p.addr_port = aport;
    }
    if (!ok) {
      err = "bad Teams proxy \"" + std::string(item) + "\" (HOST[:PORT][=ADDR:PORT])";
      return std::nullopt;
    }
    if (is_ipv4(p.host)) {
      err = "Teams proxy \"" + std::string(item) + "\": the Request-URI host must be a name (HOST=ADDR:PORT)";
      return std::nullopt;
    }
    out.push_back(std::move(p));
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  if (out.size() > kMaxTeamsProxies) {
    err = "at most " + std::to_string(kMaxTeamsProxies) + " Teams proxies";
    return std::nullopt;
  }
  return out;
}

Gateway teams_gateway(const TeamsProxy& p) {
  Gateway g;
  g.host = p.addr;
  g.port = p.addr_port;
  g.transport = "tls";
  g.options_ping = true;
  return g;
}

std::string teams_dst(const TeamsProxy& p) { return gateway_key(teams_gateway(p)); }

std::optional<TeamsProxy> first_usable_proxy(const std::vector<TeamsProxy>& proxies,
                                             const std::map<std::string, std::string>& health, double now) {
  for (const auto& p : proxies) {
    std::optional<GatewayHealth> h;
    if (auto it = health.find(teams_dst(p)); it != health.end()) h = parse_gateway_health(it->second);
    if (gateway_usable(h, now)) return p;
  }
  return std::nullopt;
}

std::optional<std::string> teams_e164(std::string_view number) {
  if (!number.empty() && number.front() == '+') number.remove_prefix(1);
  if (number.empty() || number.size() > 15) return std::nullopt;
  for (char c : number)
    if (c < '0' || c > '9') return std::nullopt;
  return "+" + std::string(number);
}

std::string teams_request_uri(const std::string& e164, const TeamsProxy& p, bool voicemail) {
  std::string uri = "sip:" + e164 + "@" + p.host + ";user=phone";
  if (voicemail) uri += ";opaque=app:voicemail";
  return uri;
}

std::string teams_contact(const std::string& user, const Account& acct) {
  return "<sip:" + user + "@" + acct.teams_sbc_fqdn + ":" + std::to_string(acct.teams_sbc_port) + ";transport=tls>";
}

std::string teams_from_host(std::string_view target_tenant, const Account& acct) {
  if (!target_tenant.empty()) return std::string(target_tenant);
  if (!acct.teams_tenant_fqdn.empty()) return acct.teams_tenant_fqdn;
  return acct.teams_sbc_fqdn;
}

std::string teams_sbc_header() { return "X-MS-SBC: dialplane/Kamailio/5.6\r\n"; }

bool is_fqdn(std::string_view s) { return is_hostname(s) && s.find('.') != std::string_view::npos; }

}  // namespace dp::core
