// The seam for text-to-speech engines: the embedded one (FliteTts) today, cloud vendors later. An engine renders
// text to a playable file in the MediaStore (cached by engine, voice and text) and never blocks its caller's
// executor.
#pragma once
#include "io/media/media_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

namespace dp::io {

struct SpeechText {
  std::string text;
  std::string language;  // BCP 47 ("en-US"); "" = the engine's default
  std::string voice;     // engine-specific; "" = the engine's default
};

class SpeechEngine {
 public:
  virtual ~SpeechEngine() = default;
  // The vendor name apps use in `synthesizer.vendor` ("flite").
  virtual std::string_view name() const = 0;
  // A WAV/MP3 file of `req.text`, or why not (unsupported language or voice, text too long, engine busy or
  // failing). Taken by value: the caller's strings need not outlive a suspension.
  virtual boost::asio::awaitable<LocalMedia> synthesize(SpeechText req) = 0;
};

}  // namespace dp::io
