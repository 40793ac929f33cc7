// libFuzzer: the first bytes of a downloaded file through the media sniffer (core::sniff_media: RIFF chunk walk,
// WAVE_FORMAT_EXTENSIBLE, ID3v2, MPEG frame headers and frame lengths), and a sidecar through the cache's
// parse_cache_meta. A verdict is always one of: a format and no error, or an error and no format. See
// tests/fuzz/README.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/media_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto probe = dp::core::sniff_media(in);
  if (probe.ok() == probe.format.empty()) std::abort();  // exactly one of format and error
  if (probe.ok() && probe.format != "wav" && probe.format != "mp3") std::abort();
  if (probe.duration_s && !(std::isfinite(*probe.duration_s) && *probe.duration_s >= 0)) std::abort();
  if (auto meta = dp::core::parse_cache_meta(in)) {
    auto again = dp::core::parse_cache_meta(dp::core::encode_cache_meta(*meta));  // a sidecar round-trips
    if (!again || again->bytes != meta->bytes || again->format != meta->format || again->etag != meta->etag) std::abort();
  }
  return 0;
}
