#include "app/verbs/validate_app.hpp"

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

}  // namespace dp::app
