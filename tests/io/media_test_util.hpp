// Helpers of the media adapter tests: a temporary directory, an observer that counts, audio bytes.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/media_format.hpp"
#include "io/media/media_observer.hpp"

namespace dp::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/dp_media_test_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

class CountingMediaObserver final : public io::MediaObserver {
 public:
  void media_fetch(io::FetchResult r, double) override { ++fetched_[r]; }
  void media_cache_size(std::uint64_t bytes, std::size_t files) override {
    cache_bytes = bytes;
    cache_files = files;
  }
  void media_evicted(std::size_t files) override { evicted += files; }
  void speech(io::SpeechResult r, double) override { ++spoken_[r]; }

  int fetches(io::FetchResult r) const { return fetched_.count(r) ? fetched_.at(r) : 0; }
  int speeches(io::SpeechResult r) const { return spoken_.count(r) ? spoken_.at(r) : 0; }
  std::uint64_t cache_bytes = 0;
  std::size_t cache_files = 0;
  std::size_t evicted = 0;

 private:
  std::map<io::FetchResult, int> fetched_;
  std::map<io::SpeechResult, int> spoken_;
};

// A 440 Hz tone as a PCM 16-bit mono WAV.
inline std::string tone_wav(int rate, double seconds) {
  std::vector<int16_t> samples(static_cast<std::size_t>(rate * seconds));
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = static_cast<int16_t>(8000 * std::sin(2 * 3.14159265 * 440 * static_cast<double>(i) / rate));
  return core::wav_pcm16_mono(samples, rate);
}

// `n` frames of MPEG-1 layer III, 128 kbit/s, 44.1 kHz (417 bytes each; silence-ish payload).
inline std::string mp3_frames(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    std::string f(417, '\0');
    f[0] = '\xFF';
    f[1] = '\xFB';
    f[2] = '\x90';
    f[3] = '\x64';
    out += f;
  }
  return out;
}

// Polls `pred` (something another thread changes) until true or `limit`.
template <class Pred>
bool eventually_true(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

}  // namespace dp::test
