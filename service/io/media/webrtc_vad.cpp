#include "io/media/webrtc_vad.hpp"

#include <algorithm>
#include <cstddef>
#include <new>

// libwebrtc-audio-processing 0.3 exports the VAD's C API but installs no header for it
// (common_audio/vad/include/webrtc_vad.h stays in its source tree). These are its prototypes in that version;
// WebRtcVad_Create takes no argument and returns the instance (checked against the .so's code).
extern "C" {
struct WebRtcVadInst;
WebRtcVadInst* WebRtcVad_Create();
void WebRtcVad_Free(WebRtcVadInst* handle);
int WebRtcVad_Init(WebRtcVadInst* handle);
int WebRtcVad_set_mode(WebRtcVadInst* handle, int mode);
int WebRtcVad_Process(WebRtcVadInst* handle, int fs, const std::int16_t* audio_frame, std::size_t frame_length);
}

namespace dp::io {

void WebrtcVad::Free::operator()(void* inst) const { WebRtcVad_Free(static_cast<WebRtcVadInst*>(inst)); }

WebrtcVad::WebrtcVad(int aggressiveness) : inst_(WebRtcVad_Create()) {
  auto* vad = static_cast<WebRtcVadInst*>(inst_.get());
  if (vad == nullptr || WebRtcVad_Init(vad) != 0) throw std::bad_alloc();
  WebRtcVad_set_mode(vad, std::clamp(aggressiveness, 0, 3));
}

bool WebrtcVad::is_voice(std::span<const std::int16_t> pcm8k_20ms) {
  if (pcm8k_20ms.size() != 160) return false;
  return WebRtcVad_Process(static_cast<WebRtcVadInst*>(inst_.get()), 8000, pcm8k_20ms.data(), pcm8k_20ms.size()) ==
         1;
}

}  // namespace dp::io
