// libFuzzer: a datagram from an rtpengine NG socket through the client's edge: the cookie split, the strict
// bencode decoder and the typed NgReply parse; plus the node parser (Kamailio's rtpengine_sock text). Checks
// that whatever decodes re-encodes to the same bytes (the decoder is canonical). See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/bencode.hpp"
#include "core/ng_protocol.hpp"

namespace bc = dp::core::bencode;
namespace ng = dp::core::ng;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)ng::parse_node(in);
  auto frame = ng::split_frame(in);
  std::string_view body = frame ? frame->body : in;
  auto decoded = bc::decode(body);
  if (!decoded.value) return 0;
  if (bc::encode(*decoded.value) != body) std::abort();  // a decoded value must re-encode byte for byte
  auto parsed = ng::parse_reply(*decoded.value);
  if (!parsed.reply) {
    if (parsed.error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const ng::NgReply& r = *parsed.reply;
  std::size_t n = r.error_reason.size() + r.warning.size() + r.to_tag.size() + r.from_tags.size();
  for (const auto& t : r.tags) {
    n += t.tag.size() + t.label.size() + t.subscribers.size();
    for (const auto& m : t.medias) n += m.streams.size();
    if (r.tag(t.tag) == nullptr) std::abort();
  }
  return n == SIZE_MAX ? 1 : 0;
}
