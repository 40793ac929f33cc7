// Provisioned entities (accounts, applications, numbers, domains, carriers, SIP users):
// models, JSON (de)serialisation and validation of REST bodies. Pure: no I/O.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core {

// A webhook: jambonz accepts a URL string or {url, method, username, password}.
struct Hook {
  std::string url;
  std::string method = "POST";  // GET | POST
  std::string username;
  std::string password;
  bool empty() const { return url.empty(); }
};

struct Account {
  std::string account_sid;
  std::string name;
  std::string webhook_secret;       // HMAC key for Jambonz-Signature; never logged or returned in full
  std::string sip_realm;            // appended to `user` targets without '@'
  std::string default_carrier_sid;  // `phone` targets without `trunk`
  // Microsoft Teams Direct Routing (docs/teams.md); teams targets fail while teams_sbc_fqdn is empty.
  std::string teams_sbc_fqdn;     // this SBC's FQDN: the Contact host of a teams INVITE (the certificate's name)
  int teams_sbc_port = 5061;      // this SBC's TLS port as paired in Teams (Contact port)
  std::string teams_tenant_fqdn;  // default From host of teams targets without `tenant` ("" = teams_sbc_fqdn)
};

struct Application {
  std::string application_sid;
  std::string account_sid;
  std::string name;
  Hook call_hook;
  Hook call_status_hook;
};

struct PhoneNumber {  // routes inbound calls to a number to an application
  std::string number;  // as provisioned; lookups normalise a leading '+'
  std::string account_sid;
  std::string application_sid;
  std::string carrier_sid;  // optional: carrier that owns the number
};

struct SipDomain {  // routes inbound calls to any user at a domain to an application
  std::string domain;
  std::string account_sid;
  std::string application_sid;
};

struct Gateway {
  std::string host;
  uint16_t port = 5060;
  std::string transport = "udp";  // udp | tcp | tls
  int priority = 0;               // lower first
  int weight = 1;
  bool options_ping = false;  // Kamailio pings it with OPTIONS; skipped while it does not answer
};

struct Carrier {
  std::string carrier_sid;
  std::string account_sid;
  std::string name;
  std::vector<Gateway> gateways;
  std::string tech_prefix;
  bool e164_leading_plus = false;  // keep/add '+' on the dialled number
  std::string from_domain;         // host part of the From on calls through this carrier
  // Outbound digest credentials (answered per leg by Kamailio's inner hop). Never logged or returned.
  std::string auth_username;
  std::string auth_password;
  std::string auth_realm;                        // empty: answer any realm the gateway challenges with
  int max_calls = 0;                             // concurrent outbound calls; 0 = unlimited
  int max_cps = 0;                               // new outbound calls per second; 0 = unlimited
  std::vector<std::string> source_addresses;     // IPs that inbound calls from this carrier come from
  std::vector<int> no_failover_codes{486, 600, 603};  // deliberate declines: never tried elsewhere
  std::vector<int> failover_codes;               // extra codes that fail over (besides timeout, 408, 5xx)
};
// Whether `ip` is one of the carrier's source addresses (its inbound calls come from there).
bool sends_from(const Carrier& c, std::string_view ip);

// Least-cost routing: the longest `prefix` matching the dialled number (digits, no '+') wins; its carriers
// are tried in order.
struct LcrRoute {
  std::string lcr_route_sid;
  std::string account_sid;
  std::string prefix;                 // digits; "" matches every number
  std::vector<std::string> carriers;  // carrier sids, in order
  std::string description;
};

struct SipUser {
  std::string username;
  std::string domain;
  std::string account_sid;
  std::string ha1;  // md5(username:domain:password); the password itself is not stored
};

// Parse a hook value (string or object). Returns nullopt and sets err on invalid input.
std::optional<Hook> parse_hook(const boost::json::value& v, std::string& err);
// redact_password: the API form. Drops `password` and masks a password in the URL's userinfo
// (http://u:***@host/…); the stored hook keeps both for sending.
boost::json::value hook_to_json(const Hook& h, bool redact_password);
// "http://u:pw@host/p" -> "http://u:***@host/p"; a URL without a userinfo password is returned as is.
std::string redact_url_password(const std::string& url);
// A hook URL may carry basic-auth credentials (http://user:pass@host/…); the HTTP client sends credentials
// only as an Authorization header, so they move into username/password and leave the URL. Returns an error
// when the URL has a user without a password, or credentials both in the URL and in username/password.
std::optional<std::string> move_url_credentials(Hook& h);

// Each from_json validates a REST body (unknown properties rejected, required fields, types, URL schemes)
// and returns nullopt with a human-readable err ("call_hook: must be an http(s) URL").
// The sid fields may be absent on create; the caller assigns them.
std::optional<Account> account_from_json(const boost::json::value& v, std::string& err);
std::optional<Application> application_from_json(const boost::json::value& v, std::string& err);
std::optional<PhoneNumber> phone_number_from_json(const boost::json::value& v, std::string& err);
std::optional<SipDomain> sip_domain_from_json(const boost::json::value& v, std::string& err);
std::optional<Carrier> carrier_from_json(const boost::json::value& v, std::string& err);
std::optional<LcrRoute> lcr_route_from_json(const boost::json::value& v, std::string& err);
// SIP users are created with a plain `password`, stored as ha1.
std::optional<SipUser> sip_user_from_json(const boost::json::value& v, std::string& err);

// Storage form (secrets included).
boost::json::object to_json(const Account&);
boost::json::object to_json(const Application&);
boost::json::object to_json(const PhoneNumber&);
boost::json::object to_json(const SipDomain&);
boost::json::object to_json(const Carrier&);
boost::json::object to_json(const LcrRoute&);
boost::json::object to_json(const SipUser&);
// API form: secrets redacted (webhook_secret shown as "****" + last 4, hook passwords and ha1 omitted).
boost::json::object to_public_json(const Account&);
boost::json::object to_public_json(const Application&);
boost::json::object to_public_json(const SipUser&);

std::string md5_hex(const std::string& s);
std::string normalize_number(const std::string& n);  // strips a leading '+', spaces and dashes

// --- additions (provisioning engineer) ---
// Entities without secrets: same as to_json, so generic code can call to_public_json on every kind.
boost::json::object to_public_json(const PhoneNumber&);
boost::json::object to_public_json(const SipDomain&);
boost::json::object to_public_json(const Carrier&);  // auth_password masked as "****"
boost::json::object to_public_json(const LcrRoute&);

// Format checks used by the validators (exposed for the REST layer and tests).
bool is_uuid(std::string_view s);      // 8-4-4-4-12 hex digits, either case
bool is_hostname(std::string_view s);  // RFC 1123 name with a non-numeric last label (no IP literals)
bool is_sip_token(std::string_view s);  // RFC 3261 `token` characters, non-empty
std::string to_lower_ascii(std::string_view s);
// The stored member name of a provisioned item addressed by REST (`kind` as in ProvisioningPort::remove):
// a normalised number, "domain:username" for a sip_user given as "domain/username", else the lower-cased
// sid or domain. Throws std::invalid_argument for a sip_user key without '/'.
std::string provisioning_member(std::string_view kind, const std::string& key);
// Formats 16 random bytes (caller supplies them, keeping core free of randomness) as a UUID v4 string.
std::string format_uuid_v4(const unsigned char (&bytes)[16]);

}  // namespace dp::core
