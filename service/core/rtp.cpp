#include "core/rtp.hpp"

#include "core/g711.hpp"
#include "core/sdp.hpp"

#include <charconv>

namespace dp::core::rtp {

namespace {

std::uint16_t be16(std::span<const std::uint8_t> d, std::size_t at) {
  return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}
std::uint32_t be32(std::span<const std::uint8_t> d, std::size_t at) {
  return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) | (std::uint32_t{d[at + 2]} << 8) | d[at + 3];
}

constexpr std::size_t kFixedHeader = 12;

}  // namespace

std::optional<Packet> parse(std::span<const std::uint8_t> d) {
  if (d.size() < kFixedHeader || (d[0] >> 6) != 2) return std::nullopt;
  Packet p;
  bool padded = (d[0] & 0x20) != 0;
  p.has_extension = (d[0] & 0x10) != 0;
  p.csrc_count = d[0] & 0x0F;
  p.marker = (d[1] & 0x80) != 0;
  p.payload_type = d[1] & 0x7F;
  p.seq = be16(d, 2);
  p.timestamp = be32(d, 4);
  p.ssrc = be32(d, 8);
  std::size_t header = kFixedHeader + 4 * std::size_t{p.csrc_count};
  if (header > d.size()) return std::nullopt;
  if (p.has_extension) {
    if (header + 4 > d.size()) return std::nullopt;
    header += 4 + 4 * std::size_t{be16(d, header + 2)};
    if (header > d.size()) return std::nullopt;
  }
  std::size_t end = d.size();
  if (padded) {
    // The last byte counts the padding, itself included: 0 or more than the payload is malformed.
    p.padding = d.back();
    if (p.padding == 0 || p.padding > end - header) return std::nullopt;
    end -= p.padding;
  }
  p.payload = d.subspan(header, end - header);
  return p;
}

bool FrameAssembler::in_sequence(const Packet& p) {
  if (!started_ || p.ssrc != ssrc_) {
    started_ = true;
    ssrc_ = p.ssrc;
    pending_.clear();
    return true;
  }
  // RFC 3550 serial arithmetic: anything up to half the number space behind the last one is old.
  auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(p.seq - last_seq_));
  if (delta <= 0) return false;
  if (delta != 1 || p.timestamp != next_timestamp_) pending_.clear();  // a hole: never join audio across it
  return true;
}

FrameAssembler::Outcome FrameAssembler::push(const Packet& p, std::vector<std::int16_t>& frames) {
  frames.clear();
  if (p.payload_type == event_pt_) return Outcome::Event;
  if (p.payload_type != kPcmu && p.payload_type != kPcma) return Outcome::Unsupported;
  if (!in_sequence(p)) return Outcome::Stale;
  last_seq_ = p.seq;
  // g711::decode() appends: decode into a scratch vector, then move whole frames out.
  decoded_.clear();
  g711::decode(p.payload, p.payload_type, decoded_);
  next_timestamp_ = p.timestamp + static_cast<std::uint32_t>(decoded_.size());
  pending_.insert(pending_.end(), decoded_.begin(), decoded_.end());
  std::size_t whole = pending_.size() - pending_.size() % kFrameSamples;
  frames.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(whole));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(whole));
  return Outcome::Audio;
}

// ---- SDP -------------------------------------------------------------------------------------------------

namespace {


std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    auto e = s.find(' ');
    out.push_back(s.substr(0, e));
    if (e == std::string_view::npos) break;
    s.remove_prefix(e);
  }
  return out;
}

template <class T>
std::optional<T> number(std::string_view w) {
  T v{};
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
  if (ec != std::errc() || p != w.data() + w.size()) return std::nullopt;
  return v;
}

std::optional<OfferedMedia> media_line(std::string_view line) {
  auto w = words(line.substr(2));
  if (w.size() < 3) return std::nullopt;
  OfferedMedia m;
  m.type = std::string(w[0]);
  m.port = number<std::uint16_t>(w[1]).value_or(0);  // `port/count` is not something rtpengine offers here
  m.proto = std::string(w[2]);
  for (std::size_t i = 3; i < w.size(); ++i)
    if (auto pt = number<int>(w[i]); pt && *pt >= 0 && *pt <= 127) m.payload_types.push_back(*pt);
  return m;
}

// An attribute line of the current m-line: its direction, or its telephone-event payload type.
void media_attribute(std::string_view line, OfferedMedia& m) {
  for (std::string_view dir : {"sendonly", "recvonly", "sendrecv", "inactive"})
    if (line.substr(2) == dir) m.direction = std::string(dir);
  constexpr std::string_view rtpmap = "a=rtpmap:";
  if (line.rfind(rtpmap, 0) != 0) return;
  auto w = words(line.substr(rtpmap.size()));
  if (w.size() < 2 || w[1].size() < 16) return;
  std::string enc(w[1].substr(0, 16));
  for (auto& ch : enc) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  auto pt = number<int>(w[0]);
  if (enc == "telephone-event/" && m.event_pt < 0 && pt && *pt >= 0 && *pt <= 127) m.event_pt = *pt;
}

bool offers(const OfferedMedia& m, int pt) {
  for (int p : m.payload_types)
    if (p == pt) return true;
  return false;
}

}  // namespace

std::vector<OfferedMedia> offered_media(std::string_view sdp) {
  std::vector<OfferedMedia> out;
  bool in_media = false;
  for (auto line : sdp_lines(sdp)) {
    if (line.rfind("m=", 0) == 0) {
      auto m = media_line(line);
      in_media = m.has_value();
      if (m) out.push_back(std::move(*m));
    } else if (in_media && line.rfind("a=", 0) == 0) {
      media_attribute(line, out.back());
    }
  }
  return out;
}

AnsweredMedia answer_for(const OfferedMedia& offered, std::uint16_t port) {
  AnsweredMedia a;
  a.port = port;
  a.codec_pt = !offers(offered, kPcmu) && offers(offered, kPcma) ? kPcma : kPcmu;
  if (offered.event_pt >= 0) a.event_pt = offered.event_pt;
  return a;
}

std::string subscribe_answer_sdp(std::string_view address, const std::vector<AnsweredMedia>& media) {
  std::string ip = address.find(':') == std::string_view::npos ? "IP4 " : "IP6 ";
  ip += address;
  std::string sdp = "v=0\r\no=- 1 1 IN " + ip + "\r\ns=dialplane fork\r\nc=IN " + ip + "\r\nt=0 0\r\n";
  for (const auto& m : media) {
    auto codec = std::to_string(m.codec_pt), event = std::to_string(m.event_pt);
    sdp += "m=audio " + std::to_string(m.port) + " RTP/AVP " + codec + " " + event + "\r\n";
    sdp += "a=rtpmap:" + codec + (m.codec_pt == kPcma ? " PCMA/8000\r\n" : " PCMU/8000\r\n");
    sdp += "a=rtpmap:" + event + " telephone-event/8000\r\n";
    sdp += "a=fmtp:" + event + " 0-16\r\n";
    sdp += "a=recvonly\r\n";
  }
  return sdp;
}

}  // namespace dp::core::rtp
