#include "core/carrier_select.hpp"

#include <algorithm>
#include <cstdlib>

namespace dp::core {

namespace {

std::string digits_of(const std::string& number) {
  std::string d = number;
  if (!d.empty() && d.front() == '+') d.erase(0, 1);
  return d;
}

Selection one(const Carrier& c, std::string source) {
  Selection s;
  s.carriers.push_back(c);
  s.source = std::move(source);
  return s;
}

}  // namespace

const LcrRoute* match_lcr(const std::vector<LcrRoute>& routes, const std::string& number) {
  auto d = digits_of(number);
  const LcrRoute* best = nullptr;
  for (const auto& r : routes) {
    if (d.compare(0, r.prefix.size(), r.prefix) != 0 || r.prefix.size() > d.size()) continue;
    if (!best || r.prefix.size() > best->prefix.size()) best = &r;
  }
  return best;
}

Selection select_carriers(const SelectionInput& in) {
  if (!in.trunk.empty()) {
    if (in.trunk_carrier) return one(*in.trunk_carrier, "trunk");
    Selection s;
    s.error = "carrier " + in.trunk + " not found";
    return s;
  }
  if (in.lcr_routes.empty() && in.number_owner) return one(*in.number_owner, "number_owner");
  if (const LcrRoute* r = match_lcr(in.lcr_routes, in.number)) {
    Selection s;
    s.source = "lcr";
    for (const auto& sid : r->carriers)
      if (auto it = in.carriers.find(sid); it != in.carriers.end()) s.carriers.push_back(it->second);
    if (!s.carriers.empty()) return s;
  }
  if (!in.inbound_ip.empty()) {
    for (const auto& [sid, c] : in.carriers)
      if (sends_from(c, in.inbound_ip)) return one(c, "inbound");
  }
  if (!in.default_carrier_sid.empty())
    if (auto it = in.carriers.find(in.default_carrier_sid); it != in.carriers.end()) return one(it->second, "default");
  Selection s;
  s.error = in.lcr_routes.empty() ? "no carrier for phone target" : "no route for " + in.number;
  return s;
}

std::vector<Gateway> ordered_gateways(const Carrier& carrier) {
  std::vector<Gateway> g = carrier.gateways;
  std::stable_sort(g.begin(), g.end(), [](const Gateway& a, const Gateway& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.weight > b.weight;
  });
  return g;
}

std::string gateway_key(const Gateway& gw) {
  return "sip:" + gw.host + ":" + std::to_string(gw.port) + ";transport=" + gw.transport;
}

std::optional<GatewayHealth> parse_gateway_health(const std::string& value) {
  auto bar = value.find('|');
  if (bar == std::string::npos) return std::nullopt;
  GatewayHealth h;
  h.state = value.substr(0, bar);
  if (h.state != "up" && h.state != "down") return std::nullopt;
  h.updated = std::strtod(value.c_str() + bar + 1, nullptr);
  return h;
}

bool gateway_usable(const std::optional<GatewayHealth>& h, double now) {
  if (!h || h->state != "down") return true;
  return now - h->updated > kHealthStaleS;
}

bool should_failover(int code, bool timeout, bool early_media, const Carrier& carrier) {
  if (early_media) return false;
  auto in = [code](const std::vector<int>& v) { return std::find(v.begin(), v.end(), code) != v.end(); };
  if (in(carrier.no_failover_codes)) return false;
  if (timeout) return true;
  return code == 408 || (code >= 500 && code < 600) || in(carrier.failover_codes);
}

std::string join_codes(const std::vector<int>& codes) {
  std::string out;
  for (int c : codes) {
    if (!out.empty()) out += ",";
    out += std::to_string(c);
  }
  return out;
}

}  // namespace dp::core
