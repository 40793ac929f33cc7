// MediaFilesPort over the io/media adapters: `fetch` goes to the URL cache (io::MediaCache), `speak` to the
// speech engine the request's vendor names (the embedded io::FliteTts for "", "default" or "flite"; any other
// vendor is refused with a clear error until its engine is added here).
#pragma once
#include "app/ports/media_files_port.hpp"
#include "io/media/media_cache.hpp"
#include "io/media/media_observer.hpp"
#include "io/media/speech_engine.hpp"

#include <boost/asio/awaitable.hpp>
#include <vector>

namespace dp::app {

class MediaFiles final : public MediaFilesPort {
 public:
  // `engines`: the first one is the default; each must outlive this object. `observer` counts refused vendors.
  MediaFiles(io::MediaCache& cache, std::vector<io::SpeechEngine*> engines, io::MediaObserver& observer);

  boost::asio::awaitable<MediaFile> fetch(const core::Hook& source) override;
  boost::asio::awaitable<MediaFile> speak(const SpeechRequest& req) override;
  boost::asio::awaitable<MediaFile> store(std::string wav) override;

  // The engine for `vendor` ("" and "default" = the first; names compare case-insensitively), nullptr if none.
  io::SpeechEngine* engine_for(std::string_view vendor) const;

 private:
  io::MediaCache& cache_;
  std::vector<io::SpeechEngine*> engines_;
  io::MediaObserver& observer_;
};

}  // namespace dp::app
