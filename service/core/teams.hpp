// Microsoft Teams Direct Routing (docs/teams.md): the Microsoft SIP proxies dialplane sends to, and the pure parts
// of a `teams` leg's INVITE (Request-URI, From, Contact, the X-MS-SBC header). No I/O.
#pragma once
#include "core/provisioning.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core {

// One Microsoft SIP proxy. `host` is the name that goes in the Request-URI (sip.pstnhub.microsoft.com);
// `addr:addr_port` is where the INVITE and the OPTIONS pings are sent: the same name in production, a
// loopback stand-in in tests (`--teams-proxies sip.pstnhub.microsoft.com=127.0.0.1:36093`).
struct TeamsProxy {
  std::string host;
  std::string addr;
  uint16_t addr_port = 5061;
};

// Microsoft's three proxies, tried in this order: sip, sip2, sip3 .pstnhub.microsoft.com, TLS port 5061.
std::vector<TeamsProxy> default_teams_proxies();
// "HOST[:PORT][=ADDR:PORT],..." (at most 8). nullopt and `err` on a bad entry.
std::optional<std::vector<TeamsProxy>> parse_teams_proxies(std::string_view spec, std::string& err);
// The proxy as a gateway that Kamailio pings with OPTIONS over TLS (its health key is gateway_key of it).
Gateway teams_gateway(const TeamsProxy& p);
// Where the INVITE goes: sip:ADDR:PORT;transport=tls.
std::string teams_dst(const TeamsProxy& p);
// Failover by health: the first proxy (in order) that Kamailio's OPTIONS pings have not reported down recently
// (`health`: gateway key -> "up|<ts>" / "down|<ts>", core::gateway_usable); nullopt when every one is down.
std::optional<TeamsProxy> first_usable_proxy(const std::vector<TeamsProxy>& proxies,
                                             const std::map<std::string, std::string>& health, double now);

// A Teams number as Microsoft wants it: '+' and 1-15 digits. "+14255550100" and "14255550100" both give
// "+14255550100"; anything else nullopt.
std::optional<std::string> teams_e164(std::string_view number);
// sip:+E164@HOST;user=phone, and ;opaque=app:voicemail when the call goes straight to voicemail.
std::string teams_request_uri(const std::string& e164, const TeamsProxy& p, bool voicemail);
// The Contact Microsoft finds the tenant's SBC by: <sip:USER@SBC_FQDN:PORT;transport=tls>.
std::string teams_contact(const std::string& user, const Account& acct);
// The From host: the target's `tenant`, else the account's teams_tenant_fqdn, else its SBC FQDN.
std::string teams_from_host(std::string_view target_tenant, const Account& acct);
// "X-MS-SBC: dialplane/Kamailio/5.6\r\n"
std::string teams_sbc_header();

// An FQDN as Microsoft accepts it in Contact/Record-Route and the SBC's certificate: a DNS name with at least
// two labels, not an IP address literal.
bool is_fqdn(std::string_view s);

}  // namespace dp::core
