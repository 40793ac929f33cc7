// G.711 µ-law (PCMU, payload type 0) and A-law (PCMA, payload type 8) to and from 16-bit linear PCM, as the
// answering-machine detector needs it for the RTP it is fed. Pure; decoding is a table lookup.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace dp::core::g711 {

std::int16_t ulaw_to_linear(std::uint8_t code);
std::int16_t alaw_to_linear(std::uint8_t code);
std::uint8_t linear_to_ulaw(std::int16_t sample);
std::uint8_t linear_to_alaw(std::int16_t sample);

// Appends the decoded samples of one RTP payload to `out`. payload_type 0 = PCMU, 8 = PCMA; any other type
// appends nothing (the caller only forks G.711 legs).
void decode(std::span<const std::uint8_t> payload, int payload_type, std::vector<std::int16_t>& out);

}  // namespace dp::core::g711
