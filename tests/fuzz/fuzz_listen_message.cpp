// libFuzzer: a text frame from a listen websocket server through the listen's edge parser
// (core::listen::parse_server_message: playAudio with base64 audio, killAudio, disconnect, the rest), then the
// play queue and the WAV wrapping the session applies to a playAudio. Checks the parser's promises: an Invalid
// always says why, decoded audio stays within its cap, raw audio is whole samples, a WAV is RIFF/WAVE.
// See tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "core/listen.hpp"

namespace ls = dp::core::listen;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto msg = ls::parse_server_message(in);
  if (auto* inv = std::get_if<ls::Invalid>(&msg)) {
    if (inv->reason.empty()) std::abort();
    return 0;
  }
  if (auto* p = std::get_if<ls::PlayAudio>(&msg)) {
    if (p->audio.empty() || p->audio.size() > ls::kMaxPlayBytes + 3) std::abort();
    if (p->content == ls::PlayAudio::Content::Raw) {
      if (p->audio.size() % 2 != 0) std::abort();
      auto wav = ls::wav_of_l16(p->audio, p->sample_rate);
      if (wav.size() != 44 + p->audio.size()) std::abort();
    } else if (p->audio.compare(0, 4, "RIFF") != 0) {
      std::abort();
    }
    ls::PlayQueue q;
    auto step = q.play(*p);
    if (!step.start) std::abort();
  }
  return 0;
}
