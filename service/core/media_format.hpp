// Audio files rtpengine can play, and the pure rules of dialplane's media cache (io/media).
//
// The sniffer trusts only a file's first bytes, never a Content-Type or a file name: rtpengine hands the file
// to ffmpeg, and what ffmpeg cannot decode must be refused before a call waits on it. Accepted:
//   WAV: `RIFF....WAVE` with a `fmt ` chunk of PCM 16-bit, µ-law or A-law (also as WAVE_FORMAT_EXTENSIBLE),
//        1-8 channels, any sample rate up to 384 kHz;
//   MP3: a valid ID3v2 tag header, or an MPEG audio frame header (sync 0xFFE, valid version, layer, bitrate and
//        sample rate bits; the next frame's sync too when it lies within the sniffed bytes).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dp::core {

// How many leading bytes the sniffer looks at (a WAV's chunks before `fmt `/`data` must fit in them).
inline constexpr std::size_t kMediaSniffBytes = 4096;

struct MediaProbe {
  std::string format;  // "wav" | "mp3"; empty when refused
  std::string error;   // why refused, e.g. "not a WAV or MP3 file", "WAV codec 85 not supported"
  // WAV only (0 when unknown):
  int wav_codec = 0;  // 1 PCM, 6 A-law, 7 µ-law
  int channels = 0;
  int sample_rate = 0;
  int bits_per_sample = 0;
  std::optional<double> duration_s;  // from the `data` chunk's size, when its header lies in the sniffed bytes
  bool ok() const { return error.empty(); }
};

// Looks at `head` (the file's first bytes; at most kMediaSniffBytes are read).
MediaProbe sniff_media(std::string_view head);

// A canonical 44-byte-header PCM 16-bit little-endian WAV file of `samples` (one channel).
std::string wav_pcm16_mono(std::span<const int16_t> samples, int sample_rate);

// ---- the media cache's rules -------------------------------------------------------------------------------

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// The cache name of a fetched URL: hex sha256 of the URL, or of URL and credentials when the source has a user
// name (a file fetched with one tenant's credentials must not be served to a request without them).
std::string media_cache_key(std::string_view url, std::string_view username = {}, std::string_view password = {});

// The cache name of synthesized speech: hex sha256 of "engine|voice|text".
std::string tts_cache_key(std::string_view engine, std::string_view voice, std::string_view text);

// True for a name the cache writes: 64 lower-case hex digits.
bool is_cache_key(std::string_view name);

// What to do with a cached URL at `now_s`, given when it was last checked with its server (fetched or
// revalidated, successfully or not).
enum class CacheAction { Fetch, Serve, Revalidate };
CacheAction cache_action(bool cached, double checked_at_s, double now_s, double revalidate_after_s);

struct CacheUsage {
  std::string key;
  std::uint64_t bytes = 0;
  double last_used_s = 0;
};

// The entries to delete, least recently used first, so the rest fits in `cap_bytes`. `keep` (the entry just
// written or about to be served) is never chosen, even if the rest cannot fit without it.
std::vector<std::string> choose_evictions(std::vector<CacheUsage> entries, std::uint64_t cap_bytes,
                                          std::string_view keep = {});

// What the cache keeps beside each file (`<key>.meta`, JSON), so a restart keeps the cache.
struct CacheMeta {
  std::string format;  // "wav" | "mp3"
  std::uint64_t bytes = 0;
  std::string etag;           // the server's ETag, "" when none (or not fetched: speech)
  std::string last_modified;  // the server's Last-Modified, "" when none
  double fetched_at_s = 0;    // the content was last confirmed by the server (200 or 304), or rendered
  double checked_at_s = 0;    // the server was last asked (even if that failed)
  double last_used_s = 0;
};
std::string encode_cache_meta(const CacheMeta& m);
// nullopt when `text` is not a sidecar this version wrote (then the entry is dropped).
std::optional<CacheMeta> parse_cache_meta(std::string_view text);

}  // namespace dp::core
