// libFuzzer: bytes from a client through the server's parse step (Beast's parser with the server's limits,
// read buffer bound, trailer refusal, conversion to ServerRequest). See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/http/http_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The server's limits, then tiny ones so short inputs reach the limit paths too.
  for (const dp::io::RequestLimits& lim : {dp::io::RequestLimits{}, dp::io::RequestLimits{64, 128, 96}}) {
    auto r = dp::io::parse_request(bytes, lim);
    if (r.request) {
      // What handlers read first.
      (void)r.request->header("authorization");
      (void)r.request->header("content-type");
      if (r.request->body.size() > lim.body_bytes) __builtin_trap();
    } else if (r.status == 0) {
      __builtin_trap();  // neither a request nor an answer
    }
  }
  return 0;
}
