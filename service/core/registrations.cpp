#include "core/registrations.hpp"

#include <boost/json.hpp>
#include <cctype>

namespace dp::core {

namespace json = boost::json;

namespace {

std::string field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return {};
  std::string s(v->get_string());
  return s == "[not set]" ? std::string() : s;
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The `transport` parameter of a SIP URI ("sip:h:5060;transport=ws" -> "ws"), lower case; "" when absent. Only
// URI parameters count: the search stops at the headers ('?') and at a closing '>'.
std::string uri_transport(std::string_view uri) {
  auto end = uri.find_first_of("?>");
  auto params = lower(std::string(uri.substr(0, end)));
  static constexpr std::string_view kKey = ";transport=";
  auto at = params.find(kKey);
  if (at == std::string::npos) return {};
  auto from = at + kKey.size();
  return params.substr(from, params.find(';', from) - from);
}

// ul.lookup returns {"AoR":…, "Contacts":[{"Contact":{"Address":…, "Received":…, "Path":…}}]}; walk it
// generically so small format differences between Kamailio versions do not matter.
void collect(const json::value& v, std::vector<Contact>& out) {
  if (v.is_array()) {
    for (const auto& e : v.get_array()) collect(e, out);
    return;
  }
  if (!v.is_object()) return;
  const auto& o = v.get_object();
  auto addr = field(o, "Address");
  if (addr.empty()) {
    for (const auto& [k, child] : o) collect(child, out);
    return;
  }
  Contact c;
  c.uri = addr;
  c.dst = field(o, "Received");
  // Kamailio's received URI names the protocol of the connection the REGISTER came over (fix_nated_register adds
  // ";transport=ws" for a WebSocket); a contact without one states its own transport, if any.
  c.transport = uri_transport(c.dst);
  if (c.transport.empty()) c.transport = uri_transport(c.uri);
  if (c.dst.empty()) {
    // A Path means the contact is reached through another proxy: send to its first hop.
    auto path = field(o, "Path");
    auto lt = path.find('<'), gt = path.find('>');
    if (lt != std::string::npos && gt != std::string::npos && gt > lt) c.dst = path.substr(lt + 1, gt - lt - 1);
  }
  out.push_back(std::move(c));
}

}  // namespace

std::vector<Contact> contacts_from_ul_lookup(const json::value& result) {
  std::vector<Contact> out;
  collect(result, out);
  return out;
}

bool ul_lookup_not_registered(int code, std::string_view message) {
  if (code == 404) return true;
  return code == 500 && (message == "AOR not found in location table" || message == "AOR has no contacts");
}

}  // namespace dp::core
