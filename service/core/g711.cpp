#include "core/g711.hpp"

namespace dp::core::g711 {

// The reference expansions (as in ITU-T G.191's g711.c): the bits are stored inverted (µ-law: all of them,
// A-law: every other one) so that silence does not produce long runs of zero bits on the line.
std::int16_t ulaw_to_linear(std::uint8_t u) {
  u = static_cast<std::uint8_t>(~u);
  int t = ((u & 0x0F) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return static_cast<std::int16_t>((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

std::int16_t alaw_to_linear(std::uint8_t a) {
  a ^= 0x55;
  int t = (a & 0x0F) << 4;
  int seg = (a & 0x70) >> 4;
  if (seg == 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return static_cast<std::int16_t>((a & 0x80) ? t : -t);
}

void decode(std::span<const std::uint8_t> payload, int payload_type, std::vector<std::int16_t>& out) {
  out.clear();
  if (payload_type != 0 && payload_type != 8) return;
  out.reserve(payload.size());
  for (auto b : payload) out.push_back(payload_type == 0 ? ulaw_to_linear(b) : alaw_to_linear(b));
}

}  // namespace dp::core::g711
