#include "core/refer.hpp"

#include "core/dial_machine.hpp"
#include "core/json_get.hpp"

#include <algorithm>
#include <cctype>

namespace dp::core {

namespace json = boost::json;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string expand_compact(std::string_view name) {
  if (iequals(name, "r")) return "Refer-To";
  if (iequals(name, "b")) return "Referred-By";
  return std::string(name);
}

const std::string* find(const SipHead& head, std::string_view name) {
  for (const auto& [k, v] : head)
    if (iequals(k, name)) return &v;
  return nullptr;
}

}  // namespace

SipHead parse_sip_head(std::string_view msg) {
  SipHead out;
  bool first = true;
  while (!msg.empty()) {
    auto eol = msg.find('\n');
    std::string_view line = msg.substr(0, eol);
    msg = eol == std::string_view::npos ? std::string_view{} : msg.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line: the body follows
    if (first) {              // the request line
      first = false;
      continue;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      out.back().second += " " + std::string(trim(line));
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // not a header: skipped
    out.emplace_back(expand_compact(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return out;
}

ReferRequest parse_refer_request(const json::object& body) {
  ReferRequest r;
  r.node = jget::str(body, "node");
  r.call_id = jget::str(body, "call_id");
  r.call_sid = jget::str(body, "call_sid");
  r.from_tag = jget::str(body, "from_tag");
  r.to_tag = jget::str(body, "to_tag");
  r.cseq = jget::str(body, "cseq");
  auto head = parse_sip_head(jget::str(body, "msg"));
  if (const auto* v = find(head, "Refer-To")) r.refer_to = *v;
  if (const auto* v = find(head, "Referred-By")) r.referred_by = *v;
  if (const auto* v = find(head, "User-Agent")) r.user_agent = *v;
  if (const auto* v = find(head, "Refer-Sub")) r.refer_sub_false = iequals(trim(*v).substr(0, 5), "false");
  for (auto& [k, v] : head)
    if (k.size() > 2 && (k[0] == 'X' || k[0] == 'x') && k[1] == '-') r.x_headers.emplace_back(k, v);
  return r;
}

std::string refer_user(std::string_view v) {
  auto lt = v.find('<');
  if (lt != std::string_view::npos) {
    auto gt = v.find('>', lt);
    v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
  }
  v = trim(v);
  auto colon = v.find(':');
  if (colon == std::string_view::npos) return "";
  auto scheme = v.substr(0, colon);
  auto rest = v.substr(colon + 1);
  if (iequals(scheme, "tel")) return std::string(rest.substr(0, rest.find_first_of(";?")));
  if (!iequals(scheme, "sip") && !iequals(scheme, "sips")) return "";
  auto at = rest.find('@');
  if (at == std::string_view::npos) return "";
  auto user = rest.substr(0, at);
  return std::string(user.substr(0, user.find_first_of(";:")));  // no user params, no password
}

std::string snake_header_name(std::string_view name) {
  std::string out;
  for (char ch : name) out += ch == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<ReferParties> refer_parties(const CallState& c, const ReferRequest& r) {
  if (!c.dial || c.dial->winner < 0 || c.dial->winner >= static_cast<int>(c.dial->legs.size())) return std::nullopt;
  const auto& win = c.dial->legs[static_cast<std::size_t>(c.dial->winner)];
  ReferParties p;
  p.leg = c.dial->winner;
  if (!r.from_tag.empty() && r.from_tag == c.from_tag) {
    p.referring_sid = c.call_sid;
    p.referred_sid = win.call_sid;
  } else if (!r.from_tag.empty() && r.from_tag == win.to_tag) {
    p.from_callee = true;
    p.referring_sid = win.call_sid;
    p.referred_sid = c.call_sid;
  } else {
    return std::nullopt;
  }
  return p;
}

json::object refer_details(const ReferRequest& r, const ReferParties& p) {
  json::object d;
  d["sip_refer_to"] = r.refer_to;
  d["refer_to_user"] = refer_user(r.refer_to);
  if (!r.referred_by.empty()) {
    d["sip_referred_by"] = r.referred_by;
    d["referred_by_user"] = refer_user(r.referred_by);
  }
  if (!r.user_agent.empty()) d["sip_user_agent"] = r.user_agent;
  d["referring_call_sid"] = p.referring_sid;
  d["referred_call_sid"] = p.referred_sid;
  for (const auto& [k, v] : r.x_headers) d[snake_header_name(k)] = v;
  return d;
}

json::object to_json(const SipAnswer& a) { return {{"code", a.code}, {"reason", a.reason}, {"hdrs", a.hdrs}}; }

SipAnswer refer_accepted(const ReferRequest& r) {
  // RFC 4488: a referrer that asked for no implicit subscription is told it has none (no NOTIFY will come).
  return {202, "Accepted", r.refer_sub_false ? "Refer-Sub: false\r\n" : ""};
}

SipAnswer refer_refused(int hook_status, std::string_view why) {
  int code = hook_status >= 400 && hook_status <= 699 ? hook_status : 501;
  return {code, std::string(default_reason(code)), "X-Reason: " + sanitize_header_value(why) + "\r\n"};
}

}  // namespace dp::core
