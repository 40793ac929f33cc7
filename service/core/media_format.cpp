#include "core/media_format.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "core/encoding.hpp"

namespace dp::core {
namespace {

constexpr std::string_view kNotMedia = "not a WAV or MP3 file";

std::uint32_t le16(std::string_view s, std::size_t at) {
  return static_cast<unsigned char>(s[at]) | (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8);
}
std::uint32_t le32(std::string_view s, std::size_t at) { return le16(s, at) | (le16(s, at + 2) << 16); }
unsigned byte(std::string_view s, std::size_t at) { return static_cast<unsigned char>(s[at]); }

MediaProbe refused(std::string error) {
  MediaProbe p;
  p.error = std::move(error);
  return p;
}

// ---- WAV ----------------------------------------------------------------------------------------------------

constexpr int kWavPcm = 1, kWavAlaw = 6, kWavMulaw = 7, kWavExtensible = 0xFFFE;

// The codec, channels, rate and sample size of a `fmt ` chunk's body; an error when ffmpeg cannot play it.
MediaProbe read_fmt(std::string_view fmt) {
  if (fmt.size() < 16) return refused("WAV fmt chunk is truncated");
  MediaProbe p;
  p.wav_codec = static_cast<int>(le16(fmt, 0));
  p.channels = static_cast<int>(le16(fmt, 2));
  p.sample_rate = static_cast<int>(le32(fmt, 4));
  p.bits_per_sample = static_cast<int>(le16(fmt, 14));
  if (p.wav_codec == kWavExtensible) {
    // WAVE_FORMAT_EXTENSIBLE: the real codec is the first two bytes of the SubFormat GUID at offset 24.
    if (fmt.size() < 40) return refused("WAV fmt chunk is truncated");
    p.wav_codec = static_cast<int>(le16(fmt, 24));
  }
  if (p.wav_codec != kWavPcm && p.wav_codec != kWavAlaw && p.wav_codec != kWavMulaw)
    return refused("WAV codec " + std::to_string(p.wav_codec) + " not supported (PCM 16-bit, mu-law, A-law)");
  const int expected_bits = p.wav_codec == kWavPcm ? 16 : 8;
  if (p.bits_per_sample != expected_bits)
    return refused("WAV " + std::string(p.wav_codec == kWavPcm ? "PCM" : "G.711") + " with " +
                   std::to_string(p.bits_per_sample) + " bits per sample not supported");
  if (p.channels < 1 || p.channels > 8) return refused("WAV with " + std::to_string(p.channels) + " channels");
  if (p.sample_rate < 1 || p.sample_rate > 384000)
    return refused("WAV sample rate " + std::to_string(p.sample_rate) + " not supported");
  p.format = "wav";
  return p;
}

// Walks the RIFF chunks within `head` for `fmt ` (required) and `data` (its size gives the duration).
MediaProbe sniff_wav(std::string_view head) {
  std::optional<MediaProbe> fmt;
  std::optional<std::uint32_t> data_bytes;
  std::size_t at = 12;
  while (at + 8 <= head.size() && !data_bytes) {
    std::string_view id = head.substr(at, 4);
    const std::uint32_t size = le32(head, at + 4);
    if (id == "fmt ") {
      fmt = read_fmt(head.substr(at + 8, std::min<std::size_t>(size, head.size() - at - 8)));
      if (!fmt->ok()) return *fmt;
    } else if (id == "data") {
      if (!fmt) return refused("WAV data before its fmt chunk");
      data_bytes = size;
    }
    at += 8 + static_cast<std::size_t>(size) + (size & 1U);  // chunks are padded to an even size
  }
  if (!fmt) return refused("WAV without a fmt chunk in its first " + std::to_string(kMediaSniffBytes) + " bytes");
  MediaProbe p = *fmt;
  const int bytes_per_sample = p.bits_per_sample / 8;  // 16 or 8: a whole number
  const double bytes_per_second = static_cast<double>(p.sample_rate) * p.channels * bytes_per_sample;
  // 0xFFFFFFFF: written by a streaming encoder that never knew the length.
  if (data_bytes && *data_bytes != 0xFFFFFFFFU) p.duration_s = *data_bytes / bytes_per_second;
  return p;
}

// ---- MP3 ----------------------------------------------------------------------------------------------------

bool is_id3v2(std::string_view head) {
  if (head.size() < 10 || head.substr(0, 3) != "ID3") return false;
  if (byte(head, 3) < 2 || byte(head, 3) > 4 || byte(head, 4) == 0xFF) return false;
  for (std::size_t i = 6; i < 10; ++i)
    if (byte(head, i) >= 0x80) return false;  // the tag size is "syncsafe": 7 bits per byte
  return true;
}

// The length in bytes of the MPEG audio frame whose header is at `at`, 0 when there is no valid header.
std::size_t mpeg_frame_length(std::string_view s, std::size_t at) {
  if (at + 4 > s.size() || byte(s, at) != 0xFF || (byte(s, at + 1) & 0xE0) != 0xE0) return 0;
  const unsigned version = (byte(s, at + 1) >> 3) & 3;  // 0 = 2.5, 1 reserved, 2 = 2, 3 = 1
  const unsigned layer = (byte(s, at + 1) >> 1) & 3;    // 0 reserved, 1 = III, 2 = II, 3 = I
  const unsigned bitrate_index = byte(s, at + 2) >> 4;  // 0 free format, 15 invalid: both refused
  const unsigned rate_index = (byte(s, at + 2) >> 2) & 3;
  const unsigned padding = (byte(s, at + 2) >> 1) & 1;
  if (version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3) return 0;
  static constexpr unsigned kKbps[5][14] = {
      {32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},  // MPEG-1 layer I
      {32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},     // MPEG-1 layer II
      {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},      // MPEG-1 layer III
      {32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},     // MPEG-2/2.5 layer I
      {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},          // MPEG-2/2.5 layers II, III
  };
  static constexpr unsigned kRates[3] = {44100, 48000, 32000};
  const bool mpeg1 = version == 3;
  const unsigned table = mpeg1 ? 3 - layer : (layer == 3 ? 3 : 4);
  const unsigned long bps = kKbps[table][bitrate_index - 1] * 1000UL;
  const unsigned rate = kRates[rate_index] >> (mpeg1 ? 0 : (version == 2 ? 1 : 2));
  if (layer == 3) return (12 * bps / rate + padding) * 4;
  const unsigned long coefficient = layer == 1 && !mpeg1 ? 72 : 144;
  return coefficient * bps / rate + padding;
}

MediaProbe sniff_mpeg(std::string_view head) {
  const std::size_t length = mpeg_frame_length(head, 0);
  if (length == 0) return refused(std::string(kNotMedia));
  // Random bytes pass one header check about once in a few thousand; the next frame's sync is a second check.
  if (length + 4 <= head.size() && mpeg_frame_length(head, length) == 0) return refused(std::string(kNotMedia));
  MediaProbe p;
  p.format = "mp3";
  return p;
}

void put16(std::string& out, unsigned v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

}  // namespace

MediaProbe sniff_media(std::string_view head) {
  head = head.substr(0, std::min(head.size(), kMediaSniffBytes));
  if (head.size() >= 12 && head.substr(0, 4) == "RIFF" && head.substr(8, 4) == "WAVE") return sniff_wav(head);
  if (is_id3v2(head)) {
    MediaProbe p;
    p.format = "mp3";
    return p;
  }
  return sniff_mpeg(head);
}

std::string wav_pcm16_mono(std::span<const int16_t> samples, int sample_rate) {
  const auto data_bytes = static_cast<std::uint32_t>(samples.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out.append("RIFF");
  put32(out, 36 + data_bytes);
  out.append("WAVEfmt ");
  put32(out, 16);
  put16(out, kWavPcm);
  put16(out, 1);  // channels
  put32(out, static_cast<std::uint32_t>(sample_rate));
  put32(out, static_cast<std::uint32_t>(sample_rate) * 2);  // byte rate
  put16(out, 2);                                            // block align
  put16(out, 16);                                           // bits per sample
  out.append("data");
  put32(out, data_bytes);
  for (int16_t s : samples) put16(out, static_cast<std::uint16_t>(s));
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr)) return {};
  return hex_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string media_cache_key(std::string_view url, std::string_view username, std::string_view password) {
  if (username.empty()) return sha256_hex(url);
  std::string material(url);
  material.push_back('\0');
  material.append(username).push_back('\0');
  material.append(password);
  return sha256_hex(material);
}

std::string tts_cache_key(std::string_view engine, std::string_view voice, std::string_view text) {
  std::string material(engine);
  material.push_back('|');
  material.append(voice).push_back('|');
  material.append(text);
  return sha256_hex(material);
}

bool is_cache_key(std::string_view name) {
  return name.size() == 64 &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

CacheAction cache_action(bool cached, double checked_at_s, double now_s, double revalidate_after_s) {
  if (!cached) return CacheAction::Fetch;
  // A check "in the future" means the wall clock went back: ask the server rather than trust it for long.
  const double age = now_s - checked_at_s;
  if (age >= 0 && age < revalidate_after_s) return CacheAction::Serve;
  return age < 0 && -age < 60 ? CacheAction::Serve : CacheAction::Revalidate;
}

std::vector<std::string> choose_evictions(std::vector<CacheUsage> entries, std::uint64_t cap_bytes,
                                          std::string_view keep) {
  std::uint64_t total = 0;
  for (const auto& e : entries) total += e.bytes;
  std::vector<std::string> out;
  if (total <= cap_bytes) return out;
  std::sort(entries.begin(), entries.end(), [](const CacheUsage& a, const CacheUsage& b) {
    return a.last_used_s != b.last_used_s ? a.last_used_s < b.last_used_s : a.key < b.key;
  });
  for (auto& e : entries) {
    if (total <= cap_bytes) break;
    if (e.key == keep) continue;
    total -= e.bytes;
    out.push_back(std::move(e.key));
  }
  return out;
}

std::string encode_cache_meta(const CacheMeta& m) {
  boost::json::object o;
  o["v"] = 1;
  o["format"] = m.format;
  o["bytes"] = m.bytes;
  o["etag"] = m.etag;
  o["last_modified"] = m.last_modified;
  o["fetched_at"] = m.fetched_at_s;
  o["checked_at"] = m.checked_at_s;
  o["last_used"] = m.last_used_s;
  return boost::json::serialize(o);
}

namespace {
bool read_number(const boost::json::object& o, std::string_view key, double& out) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return false;
  out = v->to_number<double>();
  return std::isfinite(out);
}
bool read_string(const boost::json::object& o, std::string_view key, std::string& out) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string() || v->get_string().size() > 1024) return false;
  out = std::string(v->get_string());
  return true;
}
}  // namespace

std::optional<CacheMeta> parse_cache_meta(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  auto* version = o.if_contains("v");
  auto* bytes = o.if_contains("bytes");
  if (!version || !version->is_int64() || version->get_int64() != 1) return std::nullopt;
  CacheMeta m;
  if (!bytes || !(bytes->is_uint64() || (bytes->is_int64() && bytes->get_int64() >= 0))) return std::nullopt;
  m.bytes = bytes->to_number<std::uint64_t>();
  bool ok = read_string(o, "format", m.format) && read_string(o, "etag", m.etag) &&
            read_string(o, "last_modified", m.last_modified) && read_number(o, "fetched_at", m.fetched_at_s) &&
            read_number(o, "checked_at", m.checked_at_s) && read_number(o, "last_used", m.last_used_s);
  if (!ok || (m.format != "wav" && m.format != "mp3")) return std::nullopt;
  return m;
}

}  // namespace dp::core
