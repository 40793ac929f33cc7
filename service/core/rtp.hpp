// RTP (RFC 3550) as the audio fork receives it from rtpengine, pure: a datagram parsed once into a typed Packet,
// the per-stream step from packets to 20 ms frames of linear PCM (stale packets dropped, gaps left as gaps),
// and the SDP of rtpengine's `subscribe request` offer and of dialplane's `subscribe answer` (docs/media.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core::rtp {

// ---- packets ---------------------------------------------------------------------------------------------

struct Packet {
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint8_t csrc_count = 0;
  bool has_extension = false;
  std::size_t padding = 0;               // bytes of padding removed from the end
  std::span<const std::uint8_t> payload;  // into the datagram: valid as long as it is
};

// nullopt unless version 2 with a header, CSRC list, extension and padding that fit the datagram. Never reads
// outside `datagram` (fuzzed: tests/fuzz/fuzz_rtp.cpp).
std::optional<Packet> parse(std::span<const std::uint8_t> datagram);

// ---- packets → frames ------------------------------------------------------------------------------------

inline constexpr std::size_t kFrameSamples = 160;  // 20 ms at 8 kHz
inline constexpr int kPcmu = 0;
inline constexpr int kPcma = 8;
inline constexpr int kDefaultEventPt = 101;

// One forked stream: G.711 packets in arrival order → whole 20 ms frames. A duplicate or late packet (sequence
// number not after the last one taken) is dropped; a lost packet or a timestamp jump leaves a hole (the partial
// frame before it is discarded, nothing is synthesized); a new SSRC starts over.
class FrameAssembler {
 public:
  enum class Outcome {
    Audio,        // taken; `frames` holds 0..n whole frames
    Event,        // telephone-event (RFC 4733): not audio, ignored
    Stale,        // duplicate or out of order: dropped
    Unsupported,  // another payload type than G.711: dropped
  };
  explicit FrameAssembler(int event_pt = kDefaultEventPt) : event_pt_(event_pt) {}

  // `frames` is replaced by the whole frames this packet completes (a multiple of kFrameSamples samples).
  Outcome push(const Packet& p, std::vector<std::int16_t>& frames);

 private:
  bool in_sequence(const Packet& p);

  int event_pt_;
  bool started_ = false;
  std::uint32_t ssrc_ = 0;
  std::uint16_t last_seq_ = 0;
  std::uint32_t next_timestamp_ = 0;
  std::vector<std::int16_t> pending_;  // less than one frame, waiting for the next packet
  std::vector<std::int16_t> decoded_;
};

// ---- the fork's SDP --------------------------------------------------------------------------------------

// One m-line of rtpengine's `subscribe request` offer: one per forked party, in the reply's from-tags order.
struct OfferedMedia {
  std::string type;  // "audio"
  std::uint16_t port = 0;
  std::string proto;  // "RTP/AVP"
  std::vector<int> payload_types;
  std::string direction;  // "sendonly" expected; "" when not given
  int event_pt = -1;      // the telephone-event payload type, -1 when not offered
};
std::vector<OfferedMedia> offered_media(std::string_view sdp);

// The payload types dialplane answers on one m-line: G.711 (PCMU preferred, then PCMA, else PCMU anyway) and
// telephone-event, which rtpengine requires in a subscribe answer (without it the answer fails).
struct AnsweredMedia {
  std::uint16_t port = 0;  // where dialplane receives this stream
  int codec_pt = kPcmu;
  int event_pt = kDefaultEventPt;
};
AnsweredMedia answer_for(const OfferedMedia& offered, std::uint16_t port);

// The `subscribe answer` SDP: per m-line `recvonly` to `address` (IPv4 or IPv6 literal) at its port.
std::string subscribe_answer_sdp(std::string_view address, const std::vector<AnsweredMedia>& media);

}  // namespace dp::core::rtp
