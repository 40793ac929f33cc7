#include "core/g711.hpp"

#include <array>

namespace dp::core::g711 {
namespace {

// The ITU-T G.711 expansions, written from the segment/mantissa layout of the standard.
constexpr std::int16_t expand_ulaw(std::uint8_t code) {
  const int u = static_cast<std::uint8_t>(~code);
  int t = ((u & 0x0F) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return static_cast<std::int16_t>((u & 0x80) != 0 ? (0x84 - t) : (t - 0x84));
}

constexpr std::int16_t expand_alaw(std::uint8_t code) {
  const int a = code ^ 0x55;
  int t = (a & 0x0F) << 4;
  const int seg = (a & 0x70) >> 4;
  if (seg == 0) {
    t += 8;
  } else {
    t = (t + 0x108) << (seg - 1);
  }
  return static_cast<std::int16_t>((a & 0x80) != 0 ? t : -t);
}

template <std::int16_t (*F)(std::uint8_t)>
constexpr std::array<std::int16_t, 256> make_table() {
  std::array<std::int16_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = F(static_cast<std::uint8_t>(i));
  return t;
}

constexpr auto kUlaw = make_table<expand_ulaw>();
constexpr auto kAlaw = make_table<expand_alaw>();

// Index of the highest set bit of v (0 for v < 2): the segment of a compressed sample.
int top_bit(int v) {
  int n = 0;
  while (v > 1) {
    v >>= 1;
    ++n;
  }
  return n;
}

}  // namespace

std::int16_t ulaw_to_linear(std::uint8_t code) { return kUlaw[code]; }
std::int16_t alaw_to_linear(std::uint8_t code) { return kAlaw[code]; }

std::uint8_t linear_to_ulaw(std::int16_t sample) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  int pcm = sample;
  const int sign = pcm < 0 ? 0x80 : 0;
  if (sign != 0) pcm = -pcm;
  if (pcm > kClip) pcm = kClip;
  pcm += kBias;
  // pcm is in [0x84, 0x7FFF]: bits 7..14 carry the segment.
  const int exponent = top_bit(pcm >> 7);
  const int mantissa = (pcm >> (exponent + 3)) & 0x0F;
  return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

std::uint8_t linear_to_alaw(std::int16_t sample) {
  int pcm = sample >> 3;  // A-law works on 13 bits
  int mask = 0xD5;
  if (pcm < 0) {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const int seg = pcm < 32 ? 0 : top_bit(pcm) - 4;
  if (seg >= 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  const int mantissa = seg < 2 ? (pcm >> 1) & 0x0F : (pcm >> seg) & 0x0F;
  return static_cast<std::uint8_t>(((seg << 4) | mantissa) ^ mask);
}

void decode(std::span<const std::uint8_t> payload, int payload_type, std::vector<std::int16_t>& out) {
  const std::array<std::int16_t, 256>* table = nullptr;
  if (payload_type == 0) table = &kUlaw;
  if (payload_type == 8) table = &kAlaw;
  if (table == nullptr) return;
  out.reserve(out.size() + payload.size());
  for (auto b : payload) out.push_back((*table)[b]);
}

}  // namespace dp::core::g711
