// The media sniffer and the media cache's pure rules (core/media_format).
// SHA-256 vectors: printf '%s' 'http://x/a.wav' | sha256sum
#include <doctest/doctest.h>

#include <vector>

#include "core/log.hpp"
#include "core/media_format.hpp"

using namespace dp::core;

namespace {

void put16(std::string& s, unsigned v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& s, unsigned v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}

// A WAV header: optional chunks before `fmt `, then fmt (codec, channels, rate, bits) and `data` of `data_bytes`.
std::string wav(unsigned codec, unsigned channels, unsigned rate, unsigned bits, unsigned data_bytes = 1600,
                const std::string& before_fmt = "") {
  std::string fmt;
  put16(fmt, codec);
  put16(fmt, channels);
  put32(fmt, rate);
  put32(fmt, rate * channels * bits / 8);
  put16(fmt, channels * bits / 8);
  put16(fmt, bits);
  std::string s = "RIFF";
  put32(s, 36 + data_bytes);
  s += "WAVE" + before_fmt + "fmt ";
  put32(s, 16);
  s += fmt + "data";
  put32(s, data_bytes);
  s += std::string(std::min(data_bytes, 64U), '\0');
  return s;
}

std::string mpeg_frames(unsigned char b1, unsigned char b2, std::size_t frame_length, int frames) {
  std::string s;
  for (int i = 0; i < frames; ++i) {
    std::string f(frame_length, '\x55');
    f[0] = '\xFF';
    f[1] = static_cast<char>(b1);
    f[2] = static_cast<char>(b2);
    f[3] = '\x64';
    s += f;
  }
  return s;
}

}  // namespace

TEST_CASE("WAV: PCM 16-bit, mu-law and A-law at any rate are accepted, with codec, rate and duration") {
  auto p = sniff_media(wav(1, 1, 8000, 16, 16000));
  REQUIRE(p.ok());
  CHECK(p.format == "wav");
  CHECK(p.wav_codec == 1);
  CHECK(p.channels == 1);
  CHECK(p.sample_rate == 8000);
  CHECK(p.bits_per_sample == 16);
  REQUIRE(p.duration_s);
  CHECK(*p.duration_s == doctest::Approx(1.0));

  CHECK(sniff_media(wav(7, 1, 8000, 8)).format == "wav");
  CHECK(sniff_media(wav(6, 1, 8000, 8)).format == "wav");
  auto stereo = sniff_media(wav(1, 2, 44100, 16, 44100 * 4 * 3));
  CHECK(stereo.ok());
  CHECK(*stereo.duration_s == doctest::Approx(3.0));
  CHECK(sniff_media(wav(1, 1, 22050, 16)).ok());
}

TEST_CASE("WAV: chunks before fmt are skipped (odd sizes padded); a streaming data size has no duration") {
  std::string list = "LIST";
  put32(list, 5);
  list += std::string(5, 'x') + '\0';  // odd size: one pad byte
  auto p = sniff_media(wav(1, 1, 16000, 16, 32000, list));
  REQUIRE(p.ok());
  CHECK(*p.duration_s == doctest::Approx(1.0));
  auto streaming = sniff_media(wav(1, 1, 16000, 16, 0xFFFFFFFFU));
  CHECK(streaming.ok());
  CHECK_FALSE(streaming.duration_s);
}

TEST_CASE("WAV: codecs and sample sizes ffmpeg-in-rtpengine is not given are refused with the reason") {
  CHECK(sniff_media(wav(85, 1, 8000, 16)).error == "WAV codec 85 not supported (PCM 16-bit, mu-law, A-law)");
  CHECK(sniff_media(wav(3, 1, 8000, 32)).error.find("WAV codec 3 not supported") == 0);
  CHECK(sniff_media(wav(1, 1, 8000, 8)).error == "WAV PCM with 8 bits per sample not supported");
  CHECK(sniff_media(wav(1, 1, 8000, 24)).error == "WAV PCM with 24 bits per sample not supported");
  CHECK(sniff_media(wav(7, 1, 8000, 16)).error == "WAV G.711 with 16 bits per sample not supported");
  CHECK(sniff_media(wav(1, 0, 8000, 16)).error == "WAV with 0 channels");
  CHECK(sniff_media(wav(1, 1, 0, 16)).error == "WAV sample rate 0 not supported");
}

TEST_CASE("WAV: WAVE_FORMAT_EXTENSIBLE is judged by its SubFormat") {
  std::string fmt;
  put16(fmt, 0xFFFE);
  put16(fmt, 1);
  put32(fmt, 48000);
  put32(fmt, 96000);
  put16(fmt, 2);
  put16(fmt, 16);
  put16(fmt, 22);   // cbSize
  put16(fmt, 16);   // valid bits
  put32(fmt, 4);    // channel mask
  put16(fmt, 1);    // SubFormat: PCM (first two bytes of the GUID)
  fmt += std::string(14, '\x10');
  std::string s = "RIFF";
  put32(s, 100);
  s += "WAVEfmt ";
  put32(s, static_cast<unsigned>(fmt.size()));
  s += fmt;
  auto p = sniff_media(s);
  CHECK(p.ok());
  CHECK(p.wav_codec == 1);
  s[20 + 24] = 3;  // SubFormat IEEE float
  CHECK(sniff_media(s).error.find("WAV codec 3 not supported") == 0);
  CHECK(sniff_media(s.substr(0, 20 + 30)).error == "WAV fmt chunk is truncated");
}

TEST_CASE("WAV: no fmt chunk, data first, truncated header") {
  std::string s = "RIFF";
  put32(s, 100);
  s += "WAVEdata";
  put32(s, 4);
  s += "abcd";
  CHECK(sniff_media(s).error == "WAV data before its fmt chunk");
  CHECK(sniff_media(std::string("RIFF\x04\0\0\0WAVE", 12)).error.find("WAV without a fmt chunk") == 0);
  std::string fmt_short = "RIFF";
  put32(fmt_short, 100);
  fmt_short += "WAVEfmt ";
  put32(fmt_short, 16);
  fmt_short += "\x01\0\x01\0";
  CHECK(sniff_media(fmt_short).error == "WAV fmt chunk is truncated");
}

TEST_CASE("MP3: an ID3v2 tag, or MPEG audio frames with valid header bits") {
  std::string id3 = std::string("ID3\x04\0\0\0\0\x02\x01", 10) + std::string(300, '\0');
  CHECK(sniff_media(id3).format == "mp3");
  // MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
  CHECK(sniff_media(mpeg_frames(0xFB, 0x90, 417, 3)).format == "mp3");
  // MPEG-2 layer III, 32 kbit/s, 22.05 kHz: 104-byte frames.
  CHECK(sniff_media(mpeg_frames(0xF3, 0x40, 104, 3)).format == "mp3");
  // One frame that runs past the sniffed bytes: its header alone decides.
  CHECK(sniff_media(mpeg_frames(0xFB, 0x90, 417, 1).substr(0, 100)).format == "mp3");
}

TEST_CASE("MP3: bad header bits, a bad second sync, a broken ID3 tag are not media") {
  CHECK(sniff_media(mpeg_frames(0xFB, 0xF0, 417, 3)).error == "not a WAV or MP3 file");  // bitrate index 15
  CHECK(sniff_media(mpeg_frames(0xFB, 0x00, 417, 3)).error == "not a WAV or MP3 file");  // free format
  CHECK(sniff_media(mpeg_frames(0xFB, 0x9C, 417, 3)).error == "not a WAV or MP3 file");  // sample rate index 3
  CHECK(sniff_media(mpeg_frames(0xF9, 0x90, 417, 3)).error == "not a WAV or MP3 file");  // layer 0 (reserved)
  CHECK(sniff_media(mpeg_frames(0xEB, 0x90, 417, 3)).error == "not a WAV or MP3 file");  // version 01 (reserved)
  auto broken = mpeg_frames(0xFB, 0x90, 417, 3);
  broken[417] = 'x';
  CHECK(sniff_media(broken).error == "not a WAV or MP3 file");
  CHECK(sniff_media(std::string("ID3\x04\0\0\0\0\x82\x01", 10)).error == "not a WAV or MP3 file");
  CHECK(sniff_media(std::string("ID3\x09\0\0\0\0\x02\x01", 10)).error == "not a WAV or MP3 file");
}

TEST_CASE("HTML, JSON, text, empty and short bodies are not media") {
  for (std::string body : {std::string("<!DOCTYPE html><html><body>Not Found</body></html>"),
                           std::string("{\"error\":\"nope\"}"), std::string("hello"), std::string(),
                           std::string("RIFF"), std::string("\xFF"), std::string("OggS\0\x02", 6),
                           std::string("RIFF\x10\0\0\0AVI LIST", 16)}) {
    CAPTURE(body);
    auto p = sniff_media(body);
    CHECK_FALSE(p.ok());
    CHECK(p.error == "not a WAV or MP3 file");
    CHECK(p.format.empty());
  }
}

TEST_CASE("wav_pcm16_mono writes a WAV the sniffer accepts, samples little-endian") {
  std::vector<int16_t> samples(8000, 0);
  samples[0] = 0x1234;
  samples[1] = -2;
  auto w = wav_pcm16_mono(samples, 8000);
  CHECK(w.size() == 44 + 16000);
  CHECK(w.substr(44, 4) == std::string("\x34\x12\xFE\xFF", 4));
  auto p = sniff_media(w);
  REQUIRE(p.ok());
  CHECK(p.sample_rate == 8000);
  CHECK(*p.duration_s == doctest::Approx(1.0));
}

TEST_CASE("cache keys: sha256 of the URL, credentials change it, speech by engine|voice|text") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string url = "http://x/a.wav";
  CHECK(media_cache_key(url) == sha256_hex(url));
  CHECK(media_cache_key(url, "", "ignored") == sha256_hex(url));
  CHECK(media_cache_key(url, "u", "p") != media_cache_key(url));
  CHECK(media_cache_key(url, "u", "p") != media_cache_key(url, "u", "q"));
  CHECK(media_cache_key(url, "u", "p") == sha256_hex(std::string("http://x/a.wav\0u\0p", 18)));
  CHECK(tts_cache_key("flite", "slt", "hello") == sha256_hex("flite|slt|hello"));
  CHECK(is_cache_key(media_cache_key(url)));
  CHECK_FALSE(is_cache_key("abc"));
  CHECK_FALSE(is_cache_key(std::string(64, 'A')));
  CHECK_FALSE(is_cache_key(std::string(63, 'a') + "."));
}

TEST_CASE("cache_action: fetch when absent, serve while fresh, revalidate after; a clock jump back is bounded") {
  CHECK(cache_action(false, 0, 1000, 300) == CacheAction::Fetch);
  CHECK(cache_action(true, 1000, 1000, 300) == CacheAction::Serve);
  CHECK(cache_action(true, 1000, 1299.9, 300) == CacheAction::Serve);
  CHECK(cache_action(true, 1000, 1300, 300) == CacheAction::Revalidate);
  CHECK(cache_action(true, 1000, 990, 300) == CacheAction::Serve);
  CHECK(cache_action(true, 1000, 900, 300) == CacheAction::Revalidate);
  CHECK(cache_action(true, 1000, 1000, 0) == CacheAction::Revalidate);
}

TEST_CASE("choose_evictions: least recently used first until the rest fits; the kept entry stays") {
  std::vector<CacheUsage> entries = {{"a", 40, 10}, {"b", 40, 30}, {"c", 40, 20}, {"d", 40, 40}};
  CHECK(choose_evictions(entries, 160).empty());
  CHECK(choose_evictions(entries, 159) == std::vector<std::string>{"a"});
  CHECK(choose_evictions(entries, 80) == std::vector<std::string>{"a", "c"});
  CHECK(choose_evictions(entries, 80, "a") == std::vector<std::string>{"c", "b"});
  CHECK(choose_evictions(entries, 0, "d") == std::vector<std::string>{"a", "c", "b"});
  CHECK(choose_evictions({}, 0).empty());
}

TEST_CASE("cache meta round trip; foreign or broken sidecars are refused") {
  CacheMeta m;
  m.format = "mp3";
  m.bytes = 12345;
  m.etag = "\"v1\"";
  m.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
  m.fetched_at_s = 1700000000.5;
  m.checked_at_s = 1700000100.25;
  m.last_used_s = 1700000200;
  auto back = parse_cache_meta(encode_cache_meta(m));
  REQUIRE(back);
  CHECK(back->format == "mp3");
  CHECK(back->bytes == 12345);
  CHECK(back->etag == m.etag);
  CHECK(back->last_modified == m.last_modified);
  CHECK(back->fetched_at_s == m.fetched_at_s);
  CHECK(back->checked_at_s == m.checked_at_s);
  CHECK(back->last_used_s == m.last_used_s);
  CHECK_FALSE(parse_cache_meta("not json"));
  CHECK_FALSE(parse_cache_meta("[]"));
  CHECK_FALSE(parse_cache_meta(R"({"v":2,"format":"wav","bytes":1,"etag":"","last_modified":"","fetched_at":0,"checked_at":0,"last_used":0})"));
  CHECK_FALSE(parse_cache_meta(R"({"v":1,"format":"ogg","bytes":1,"etag":"","last_modified":"","fetched_at":0,"checked_at":0,"last_used":0})"));
  CHECK_FALSE(parse_cache_meta(R"({"v":1,"format":"wav","bytes":-1,"etag":"","last_modified":"","fetched_at":0,"checked_at":0,"last_used":0})"));
  CHECK_FALSE(parse_cache_meta(R"({"v":1,"format":"wav","bytes":1,"etag":"","last_modified":"","fetched_at":0,"checked_at":0})"));
  CHECK(parse_cache_meta(R"({"v":1,"format":"wav","bytes":1,"etag":"","last_modified":"","fetched_at":0,"checked_at":0,"last_used":0})"));
}

TEST_CASE("loggable_url keeps scheme, host and path only") {
  CHECK(dp::log::loggable_url("https://user:secret@example.com:8443/a/b.wav?token=abc#x") ==
        "https://example.com:8443/a/b.wav");
  CHECK(dp::log::loggable_url("http://example.com?token=abc") == "http://example.com");
  CHECK(dp::log::loggable_url("http://example.com/p") == "http://example.com/p");
  CHECK(dp::log::loggable_url("nonsense") == "(invalid url)");
}
