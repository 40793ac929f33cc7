// What the media adapters (MediaStore, MediaCache, FliteTts) report: app/observability's MediaStats implements
// it as Prometheus metrics (no global), tests count with a fake.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dp::io {

enum class FetchResult {
  Hit,          // served from disk, no request
  Fetched,      // downloaded (first time, or a revalidation answered 200 with new content)
  Revalidated,  // the server answered 304: the cached file stays
  Stale,        // revalidation failed: the old file is served
  Error,        // no file
};

enum class SpeechResult {
  Hit,          // served from disk
  Synthesized,  // rendered now
  Refused,      // not attempted: unknown vendor/language/voice, empty or too long text, queue full
  Error,        // the engine failed or timed out
};

std::string_view to_string(FetchResult r);
std::string_view to_string(SpeechResult r);

class MediaObserver {
 public:
  virtual ~MediaObserver() = default;
  // One MediaCache::fetch; `seconds` is its whole time (a hit is about zero).
  virtual void media_fetch(FetchResult result, double seconds) = 0;
  // The cache directory's content after a change.
  virtual void media_cache_size(std::uint64_t bytes, std::size_t files) = 0;
  virtual void media_evicted(std::size_t files) = 0;
  // One synthesis request; `engine_seconds` is the engine's own time (0 unless synthesized).
  virtual void speech(SpeechResult result, double engine_seconds) = 0;
};

// For components built without metrics.
class NullMediaObserver final : public MediaObserver {
 public:
  void media_fetch(FetchResult, double) override {}
  void media_cache_size(std::uint64_t, std::size_t) override {}
  void media_evicted(std::size_t) override {}
  void speech(SpeechResult, double) override {}
};

inline std::string_view to_string(FetchResult r) {
  switch (r) {
    case FetchResult::Hit: return "hit";
    case FetchResult::Fetched: return "fetched";
    case FetchResult::Revalidated: return "revalidated";
    case FetchResult::Stale: return "stale";
    case FetchResult::Error: break;
  }
  return "error";
}

inline std::string_view to_string(SpeechResult r) {
  switch (r) {
    case SpeechResult::Hit: return "hit";
    case SpeechResult::Synthesized: return "synthesized";
    case SpeechResult::Refused: return "refused";
    case SpeechResult::Error: break;
  }
  return "error";
}

}  // namespace dp::io
