// G.711 decoding (ITU-T G.711: µ-law PCMU = RTP payload type 0, A-law PCMA = 8) to 16-bit linear PCM. Pure,
// table-free: one byte is one sample, so a 20 ms packet at 8 kHz is 160 bytes → 160 samples.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace dp::core::g711 {

std::int16_t ulaw_to_linear(std::uint8_t u);
std::int16_t alaw_to_linear(std::uint8_t a);

// Replaces `out` with the decoded samples of `payload`. Another payload type than 0 or 8 leaves `out` empty.
void decode(std::span<const std::uint8_t> payload, int payload_type /*0 PCMU, 8 PCMA*/, std::vector<std::int16_t>& out);

}  // namespace dp::core::g711
