#include "core/call_info.hpp"

#include "core/dial_machine.hpp"

namespace dp::core {

namespace json = boost::json;

namespace {
json::object leg_info(const CallState& c, const Leg& l, double now) {
  auto o = child_payload(c, l, now);
  o.erase("customerData");  // jambonz keeps it out of the call list
  return o;
}
}  // namespace

json::array call_infos(const CallState& c, double now) {
  json::array out;
  out.push_back(parent_payload(c, now));
  if (c.dial)
    for (const auto& l : c.dial->legs) out.push_back(leg_info(c, l, now));
  return out;
}

std::optional<json::object> call_info(const CallState& c, const std::string& sid, double now) {
  if (sid == c.call_sid) return parent_payload(c, now);
  if (c.dial)
    for (const auto& l : c.dial->legs)
      if (l.call_sid == sid) return leg_info(c, l, now);
  return std::nullopt;
}

}  // namespace dp::core
