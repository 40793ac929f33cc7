// The little SDP dialplane writes itself. rtpengine rewrites every SDP that passes the proxy; dialplane only
// needs an answer for a party that does not exist (dialMusic's placeholder callee).
#pragma once
#include <optional>
#include <string>
#include <vector>
#include <string_view>

namespace dp::core {

// An answer to `offer_sdp` (the SDP rtpengine offers toward the callee side) from a placeholder party: the
// offer's first audio codec, plus telephone-event when offered so DTMF keeps flowing, sendrecv to the
// discard port on loopback. rtpengine answers the caller with its own SDP for it, which is what the caller's
// 183 carries while music plays. nullopt when the offer has no audio m-line or no usable codec.
std::optional<std::string> placeholder_answer_sdp(std::string_view offer_sdp);

// The lines of an SDP body, without their CR/LF (views into `sdp`).
std::vector<std::string_view> sdp_lines(std::string_view sdp);

}  // namespace dp::core
