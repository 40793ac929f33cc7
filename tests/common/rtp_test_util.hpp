// Test-side RTP: a µ-law encoder (the service only decodes), an RTP packet builder, a tone and a Goertzel
// power measure to recognise it after a G.711 round trip.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dp::test {

// ITU-T G.711 µ-law encoding of one sample (the inverse of core::g711::ulaw_to_linear up to quantisation).
inline std::uint8_t linear_to_ulaw(std::int16_t sample) {
  constexpr int kBias = 0x84, kClip = 32635;
  int x = sample;
  std::uint8_t sign = 0;
  if (x < 0) {
    x = -x;
    sign = 0x80;
  }
  if (x > kClip) x = kClip;
  x += kBias;
  int exponent = 7;
  for (int mask = 0x4000; (x & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  int mantissa = (x >> (exponent + 3)) & 0x0F;
  return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

struct RtpHeader {
  std::uint8_t pt = 0;
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::uint32_t ssrc = 0x11223344;
  bool marker = false;
};

inline std::vector<std::uint8_t> rtp_packet(const RtpHeader& h, std::span<const std::uint8_t> payload) {
  // Sized once and copied into (GCC 12 warns falsely about vector::insert of a span here).
  std::vector<std::uint8_t> d(12 + payload.size());
  d[0] = 0x80;
  d[1] = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | h.pt);
  for (int i = 0; i < 2; ++i) d[2 + i] = static_cast<std::uint8_t>(h.seq >> (8 * (1 - i)));
  for (int i = 0; i < 4; ++i) d[4 + i] = static_cast<std::uint8_t>(h.ts >> (8 * (3 - i)));
  for (int i = 0; i < 4; ++i) d[8 + i] = static_cast<std::uint8_t>(h.ssrc >> (8 * (3 - i)));
  std::copy(payload.begin(), payload.end(), d.begin() + 12);
  return d;
}

// Sample `n` of a sine of `hz` at 8 kHz.
inline std::int16_t tone_sample(double hz, std::size_t n, double amplitude = 8000) {
  return static_cast<std::int16_t>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(n) / 8000.0));
}

// The power of `pcm` at `hz` (8 kHz sampling), normalised by the total energy: close to 1 for a pure tone at
// `hz`, close to 0 for other frequencies or noise.
inline double goertzel_share(std::span<const std::int16_t> pcm, double hz) {
  double k = 2 * std::cos(2 * M_PI * hz / 8000.0), s1 = 0, s2 = 0, energy = 0;
  for (auto x : pcm) {
    double s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
    energy += double(x) * x;
  }
  double power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return energy > 0 ? 2 * power / (energy * static_cast<double>(pcm.size())) : 0;
}

}  // namespace dp::test
