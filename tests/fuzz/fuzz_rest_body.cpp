// libFuzzer: a REST body through the edge parse and every provisioning model's validator; whatever validates
// must survive the round trip through its stored form (what Redis keeps is read back with the same parser)
// and the API form. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_get.hpp"
#include "core/provisioning.hpp"

namespace {

template <class Parse>
void check(Parse parse, const boost::json::object& body) {
  std::string err;
  auto t = parse(body, err);
  if (!t) return;
  (void)dp::core::to_public_json(*t);
  auto stored = dp::core::to_json(*t);
  std::string err2;
  if (!parse(stored, err2)) __builtin_trap();  // a stored entity that cannot be read back
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  auto body = dp::core::jget::parse_object(std::string_view(reinterpret_cast<const char*>(data), size), err);
  if (!body) return 0;
  using namespace dp::core;
  check([](const boost::json::value& v, std::string& e) { return account_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return application_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return phone_number_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return sip_domain_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return carrier_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return lcr_route_from_json(v, e); }, *body);
  check([](const boost::json::value& v, std::string& e) { return sip_user_from_json(v, e); }, *body);
  if (auto* h = body->if_contains("call_hook")) {
    if (auto hook = parse_hook(*h, err)) (void)redact_url_password(hook->url);
  }
  return 0;
}
