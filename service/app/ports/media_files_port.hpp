// Port: audio files rtpengine can play (io/media is the implementation: HTTP(S) fetch with a size-capped,
// revalidated disk cache, and text-to-speech; tests/app/fakes answers scripted files).
//
// Every path returned lies in the media directory that rtpengine reads too (a shared volume in
// docker-compose), so it can go straight into an NG `play media` `file=`.
#pragma once
#include "core/provisioning.hpp"

#include <boost/asio/awaitable.hpp>
#include <string>

namespace dp::app {

// A file ready to play, or why there is none. Failures are values: a missing prompt must never fail a call.
struct MediaFile {
  bool ok = false;
  std::string path;    // absolute path rtpengine can open
  std::string format;  // "wav" | "mp3"
  std::string error;   // why not (safe to log: no credentials)
};

// What `say` asks for (jambonz's `synthesizer` object, flattened). An empty vendor means the default engine.
struct SpeechRequest {
  std::string text;
  std::string vendor;    // "" | "default" | the embedded engine's name; anything else is refused
  std::string language;  // e.g. "en-US"
  std::string voice;     // engine-specific; "" = the engine's default
};

class MediaFilesPort {
 public:
  virtual ~MediaFilesPort() = default;

  // An http(s) .wav or .mp3 URL, fetched with `source`'s basic-auth credentials (if any), from the cache when
  // it is still fresh. Bounded by the fetch timeout; the content must really be WAV or MP3.
  virtual boost::asio::awaitable<MediaFile> fetch(const core::Hook& source) = 0;

  // Renders `req.text` to a WAV file (cached by engine, voice and text). Never blocks the caller's executor.
  virtual boost::asio::awaitable<MediaFile> speak(const SpeechRequest& req) = 0;

  // Audio dialplane made itself (a listen's playAudio, its beep): a whole WAV file written to the media
  // directory (cached by content, evicted like the rest). Never blocks the caller's executor.
  virtual boost::asio::awaitable<MediaFile> store(std::string wav) = 0;
};

}  // namespace dp::app
