// libFuzzer: a webhook's answer (a jambonz app) through jambonz verb validation and dialplane's header rules,
// as the call flow validates call_hook and actionHook responses. See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/verbs/validate_app.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::system::error_code ec;  // parsed as the webhook client parses an answer
  auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;
  auto r = dp::app::validate_verbs(v);
  if (r.ok() && !r.verbs.empty() && !r.verbs.front().is_object()) __builtin_trap();  // normalised form
  return 0;
}
