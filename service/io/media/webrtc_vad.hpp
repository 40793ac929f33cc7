// Voice activity detection for the answering-machine detector (core/amd_detector): the WebRTC VAD (GMM over six
// sub-bands) from Debian's libwebrtc-audio-processing (BSD-3). One instance per analysed leg; not thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

namespace dp::io {

class WebrtcVad {
 public:
  // aggressiveness 0 (most voice) .. 3 (least voice); clamped.
  explicit WebrtcVad(int aggressiveness = 2);
  // One 20 ms frame of 8 kHz 16-bit PCM (160 samples). Any other length is "no voice".
  bool is_voice(std::span<const std::int16_t> pcm8k_20ms);

 private:
  struct Free {
    void operator()(void* inst) const;
  };
  std::unique_ptr<void, Free> inst_;
};

}  // namespace dp::io
