// libFuzzer: datagrams arriving on an audio fork's socket through its edge: core::rtp::parse (a Packet's
// payload must lie inside the datagram and account for every byte), then a FrameAssembler fed with a run of
// such datagrams (length-prefixed in the input; whole 20 ms frames only); and the same bytes as a subscribe
// offer SDP (core::rtp::offered_media), whose answer must parse back to as many recvonly m-lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "core/rtp.hpp"

namespace rtp = dp::core::rtp;

namespace {

void check_packet(std::span<const std::uint8_t> d) {
  auto p = rtp::parse(d);
  if (!p) return;
  if (p->payload.data() < d.data() || p->payload.data() + p->payload.size() > d.data() + d.size()) std::abort();
  std::size_t header = 12 + 4 * std::size_t{p->csrc_count};
  if (header + p->payload.size() + p->padding > d.size()) std::abort();
  if (!p->has_extension && header + p->payload.size() + p->padding != d.size()) std::abort();
}

// The input as datagrams: each one byte of length, then that many bytes.
void check_assembler(std::span<const std::uint8_t> in) {
  rtp::FrameAssembler fa;
  std::vector<std::int16_t> frames;
  while (!in.empty()) {
    std::size_t n = std::min<std::size_t>(in[0], in.size() - 1);
    auto d = in.subspan(1, n);
    in = in.subspan(1 + n);
    auto p = rtp::parse(d);
    if (!p) continue;
    fa.push(*p, frames);
    if (frames.size() % rtp::kFrameSamples != 0) std::abort();
  }
}

void check_sdp(std::string_view sdp) {
  auto offered = rtp::offered_media(sdp);
  std::vector<rtp::AnsweredMedia> answered;
  for (const auto& m : offered) answered.push_back(rtp::answer_for(m, 44001));
  auto back = rtp::offered_media(rtp::subscribe_answer_sdp("127.0.0.1", answered));
  if (back.size() != offered.size()) std::abort();
  for (const auto& m : back)
    if (m.direction != "recvonly" || m.port != 44001) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::uint8_t> in(data, size);
  check_packet(in);
  check_assembler(in);
  check_sdp(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
