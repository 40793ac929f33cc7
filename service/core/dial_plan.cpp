#include "core/dial_plan.hpp"

#include "core/json_get.hpp"
#include "core/sip_headers.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace dp::core {

namespace json = boost::json;

namespace {

using jget::str;

std::string dedupe_key(const json::object& t) {
  auto type = str(t, "type");
  if (type == "phone" || type == "teams") return type + "|" + str(t, "number");
  if (type == "user") return "user|" + str(t, "name");
  if (type == "sip") return "sip|" + str(t, "sipUri");
  return type + "|" + json::serialize(t);
}

bool is_dialable_number(std::string_view n) {
  if (n.empty()) return false;
  std::size_t i = n.front() == '+' ? 1 : 0;
  if (i == n.size()) return false;
  for (; i < n.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(n[i])) && n[i] != '*' && n[i] != '#') return false;
  return true;
}

PlannedLeg failed(PlannedLeg leg, int code, std::string reason) {
  leg.fail_code = code;
  leg.fail_reason = std::move(reason);
  return leg;
}

// Outbound proxy as a $du value: accepts "sip:host[:port]" or "host[:port]".
std::optional<std::string> proxy_dst(const std::string& proxy) {
  if (proxy.empty()) return std::string();
  std::string p = proxy.rfind("sip:", 0) == 0 || proxy.rfind("sips:", 0) == 0 ? proxy : "sip:" + proxy;
  if (!is_safe_sip_uri(p)) return std::nullopt;
  return p;
}

}  // namespace

json::array unique_targets(const json::array& targets) {
  json::array out;
  std::set<std::string> seen;
  for (const auto& t : targets) {
    if (!t.is_object()) continue;
    if (!seen.insert(dedupe_key(t.get_object())).second) continue;
    out.push_back(t);
    if (static_cast<int>(out.size()) == kMaxTargets) break;
  }
  return out;
}

std::string user_aor(const json::object& target, const std::string& sip_realm) {
  auto name = str(target, "name");
  auto pos = name.find(':');
  if (name.rfind("sip:", 0) == 0 || name.rfind("sips:", 0) == 0) name = name.substr(pos + 1);
  if (name.find('@') == std::string::npos && !sip_realm.empty()) name += "@" + sip_realm;
  return name;
}

const Gateway* first_gateway(const Carrier& carrier) {
  const Gateway* best = nullptr;
  for (const auto& g : carrier.gateways)
    if (!best || g.priority < best->priority || (g.priority == best->priority && g.weight > best->weight))
      best = &g;
  return best;
}

std::string phone_uri(const Carrier& carrier, const Gateway& gw, const std::string& number) {
  std::string digits = number;
  bool plus = !digits.empty() && digits.front() == '+';
  if (plus) digits.erase(0, 1);
  std::string user = carrier.tech_prefix;
  if (carrier.e164_leading_plus) user += "+";
  user += digits;
  std::string scheme = gw.transport == "tls" ? "sips:" : "sip:";
  std::string uri = scheme + escape_sip_user(user) + "@" + gw.host;
  if (gw.port != 0) uri += ":" + std::to_string(gw.port);
  if (gw.transport == "tcp") uri += ";transport=tcp";
  return uri;
}

std::string inner_hop_uri(const std::string& token) {
  return "sip:dpleg-" + token + "@" + std::string(kInnerHopHost);
}

bool is_safe_sip_uri(std::string_view uri) {
  if (uri.rfind("sip:", 0) != 0 && uri.rfind("sips:", 0) != 0) return false;
  auto rest = uri.substr(uri.find(':') + 1);
  if (rest.empty() || rest.size() > 512) return false;
  for (char c : rest) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '\\') return false;
  }
  // a host must follow the optional userinfo
  auto at = rest.rfind('@');
  auto host = at == std::string_view::npos ? rest : rest.substr(at + 1);
  return !host.empty() && host.front() != ';' && host.front() != ':';
}

std::string escape_sip_user(std::string_view user) {
  static constexpr std::string_view kAllowed = "-_.!~*'()&=+$,;?/";
  std::string out;
  for (char c : user) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || kAllowed.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

std::string quote_display_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

namespace {

struct CallerId {
  std::string user;
  std::string host;
  std::string name;
};

// Caller ID: target.from.user > dial.callerId > the caller's own user; likewise for the host.
CallerId caller_id(const std::string& type, const json::object& target, const json::object& dial,
                   const CallerFacts& caller, const TargetFacts& facts) {
  CallerId id{caller.from_user, caller.from_host, caller.caller_name};
  if (auto cid = str(dial, "callerId"); !cid.empty()) id.user = cid;
  if (auto cn = str(dial, "callerName"); !cn.empty()) id.name = cn;
  if (auto* f = target.if_contains("from"); f && f->is_object()) {
    if (auto u = str(f->get_object(), "user"); !u.empty()) id.user = u;
    if (auto h = str(f->get_object(), "host"); !h.empty()) id.host = h;
  }
  if (type == "phone" && facts.carrier && !facts.carrier->from_domain.empty() &&
      !(target.contains("from") && !str(target.at("from").as_object(), "host").empty()))
    id.host = facts.carrier->from_domain;
  if (id.user.empty()) id.user = "anonymous";
  return id;
}

PlannedLeg plan_sip_leg(PlannedLeg leg, const json::object& target, PlannedBranch proto, const TargetFacts& facts) {
  leg.to = str(target, "sipUri");
  if (!is_safe_sip_uri(leg.to)) return failed(leg, 400, "invalid sipUri");
  auto dst = proxy_dst(str(target, "proxy"));
  if (!dst) return failed(leg, 400, "invalid proxy");
  proto.uri = leg.to;
  proto.dst = *dst;
  if (!facts.leg_token.empty()) {  // digest auth: the inner hop sends to uri/dst and answers challenges
    proto.uri = inner_hop_uri(facts.leg_token);
    proto.dst.clear();
  }
  leg.branches.push_back(proto);
  return leg;
}

PlannedLeg plan_phone_leg(PlannedLeg leg, const json::object& target, PlannedBranch proto, const TargetFacts& facts) {
  leg.to = str(target, "number");
  if (!is_dialable_number(leg.to)) return failed(leg, 484, "invalid phone number");
  if (!facts.carrier) return failed(leg, 503, "no carrier for phone target");
  const Gateway* gw = first_gateway(*facts.carrier);
  if (!gw) return failed(leg, 503, "carrier has no gateway");
  proto.uri = phone_uri(*facts.carrier, *gw, leg.to);
  if (!is_safe_sip_uri(proto.uri)) return failed(leg, 503, "invalid carrier gateway");
  if (!facts.leg_token.empty()) proto.uri = inner_hop_uri(facts.leg_token);  // gateways tried by the inner hop
  leg.branches.push_back(proto);
  return leg;
}

PlannedLeg plan_user_leg(PlannedLeg leg, const json::object& target, const PlannedBranch& proto,
                         const TargetFacts& facts) {
  leg.to = str(target, "name");
  if (facts.contacts.empty()) return failed(leg, 404, "user not registered");
  for (const auto& c : facts.contacts) {
    if (!is_safe_sip_uri(c.uri)) continue;
    auto b = proto;
    b.uri = c.uri;
    b.dst = c.dst;
    b.media = contact_media_profile(c);
    leg.branches.push_back(std::move(b));
  }
  if (leg.branches.empty()) return failed(leg, 404, "user not registered");
  return leg;
}

bool flag(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->get_bool();
}

// Microsoft Teams Direct Routing (docs/teams.md): to the first healthy Microsoft proxy over TLS, From at the tenant,
// Contact at the account's SBC FQDN, X-MS-SBC, SRTP/ICE media (Kamailio's "teams" rtpengine profile).
PlannedLeg plan_teams_leg(PlannedLeg leg, const json::object& target, PlannedBranch proto, const TargetFacts& facts) {
  leg.to = str(target, "number");
  auto e164 = teams_e164(leg.to);
  if (!e164) return failed(leg, 484, "invalid teams number (E.164 digits)");
  if (!facts.teams_account || facts.teams_account->teams_sbc_fqdn.empty())
    return failed(leg, 503, "teams is not configured for this account (teams_sbc_fqdn)");
  const Account& acct = *facts.teams_account;
  auto tenant = str(target, "tenant");
  if (!tenant.empty() && !is_fqdn(tenant)) return failed(leg, 400, "invalid teams tenant (an FQDN)");
  if (!facts.teams_proxy) return failed(leg, 503, "no Microsoft Teams proxy answers OPTIONS");
  // jambonz names the property `vmail`; its docs say `voicemail`: both are honoured (README semantics).
  bool voicemail = flag(target, "vmail") || flag(target, "voicemail");
  std::string user = escape_sip_user(leg.from_user);
  proto.uri = teams_request_uri(*e164, *facts.teams_proxy, voicemail);
  proto.dst = teams_dst(*facts.teams_proxy);
  proto.from_uri = "sip:" + user + "@" + teams_from_host(tenant, acct);
  proto.contact = teams_contact(user, acct);
  proto.media = "teams";
  proto.hdrs += teams_sbc_header();
  if (!is_safe_sip_uri(proto.uri) || !is_safe_sip_uri(proto.from_uri)) return failed(leg, 400, "invalid teams target");
  leg.branches.push_back(std::move(proto));
  return leg;
}

}  // namespace

std::string contact_media_profile(const Contact& contact) {
  return media_profile_of_transport(contact.transport);
}

PlannedLeg plan_leg(int index, const json::object& target, const json::object& dial, const CallerFacts& caller,
                    const TargetFacts& facts) {
  PlannedLeg leg;
  leg.type = str(target, "type");
  CallerId from = caller_id(leg.type, target, dial, caller, facts);
  leg.from_user = from.user;

  PlannedBranch proto;
  proto.leg = index;
  proto.from_uri = "sip:" + escape_sip_user(from.user) + "@" + from.host;
  proto.from_name = quote_display_name(from.name);
  if (!is_safe_sip_uri(proto.from_uri)) return failed(leg, 400, "invalid caller id host");
  static const json::value kNone;
  auto* dh = dial.if_contains("headers");
  auto* th = target.if_contains("headers");
  proto.hdrs = render_headers(merge_headers(dh ? *dh : kNone, th ? *th : kNone));

  if (!facts.error.empty()) {
    leg.to = leg.type == "user" ? str(target, "name") : str(target, leg.type == "sip" ? "sipUri" : "number");
    return failed(leg, 503, facts.error);
  }

  if (leg.type == "sip") return plan_sip_leg(std::move(leg), target, std::move(proto), facts);
  if (leg.type == "phone") return plan_phone_leg(std::move(leg), target, std::move(proto), facts);
  if (leg.type == "user") return plan_user_leg(std::move(leg), target, proto, facts);
  if (leg.type == "teams") return plan_teams_leg(std::move(leg), target, std::move(proto), facts);
  return failed(leg, 400, "unknown target type");
}

}  // namespace dp::core
