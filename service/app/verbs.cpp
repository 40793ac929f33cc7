#include "app/verbs.hpp"

#include "core/sip_headers.hpp"

namespace dp::app {

namespace json = boost::json;

core::AppValidation validate_verbs(const json::value& app) {
  auto v = core::validate_app(app);
  if (!v.ok()) return v;
  for (const auto& verb : v.verbs) {
    if (!verb.is_object()) continue;
    if (auto err = core::check_dial_headers(verb.get_object())) {
      v.error = *err;
      return v;
    }
    if (auto* h = verb.get_object().if_contains("headers")) {
      auto name = verb.get_object().if_contains("verb");
      std::string where = name && name->is_string() ? std::string(name->get_string()) : "verb";
      if (where != "dial")
        if (auto err = core::check_headers(*h, where)) {
          v.error = *err;
          return v;
        }
    }
  }
  return v;
}

std::string render_verb_headers(const json::object& headers) {
  json::value v = headers;
  if (core::check_headers(v, "verb")) return {};
  return core::render_headers(core::header_list(v));
}

namespace {
std::string field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return {};
  std::string s(v->get_string());
  return s == "[not set]" ? std::string() : s;
}
}  // namespace

// ul.lookup returns {"AoR":…, "Contacts":[{"Contact":{"Address":…, "Received":…, "Path":…}}]}; walk it
// generically so small format differences between Kamailio versions do not matter.
void collect_contacts(const json::value& v, std::vector<core::Contact>& out) {
  if (v.is_array()) {
    for (const auto& e : v.get_array()) collect_contacts(e, out);
    return;
  }
  if (!v.is_object()) return;
  const auto& o = v.get_object();
  auto addr = field(o, "Address");
  if (!addr.empty()) {
    core::Contact c;
    c.uri = addr;
    c.dst = field(o, "Received");
    if (c.dst.empty()) {
      // A Path means the contact is reached through another proxy: send to its first hop.
      auto path = field(o, "Path");
      if (!path.empty()) {
        auto lt = path.find('<'), gt = path.find('>');
        if (lt != std::string::npos && gt != std::string::npos && gt > lt) c.dst = path.substr(lt + 1, gt - lt - 1);
      }
    }
    out.push_back(std::move(c));
    return;
  }
  for (const auto& [k, child] : o) collect_contacts(child, out);
}

}  // namespace dp::app
