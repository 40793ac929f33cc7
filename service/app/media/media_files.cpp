#include "app/media/media_files.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace asio = boost::asio;

namespace dp::app {
namespace {

MediaFile to_port(const io::LocalMedia& m) {
  MediaFile f;
  f.ok = m.ok;
  f.path = m.path;
  f.format = m.format;
  f.error = m.error;
  return f;
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

MediaFiles::MediaFiles(io::MediaCache& cache, std::vector<io::SpeechEngine*> engines, io::MediaObserver& observer)
    : cache_(cache), engines_(std::move(engines)), observer_(observer) {
  if (engines_.empty() || std::find(engines_.begin(), engines_.end(), nullptr) != engines_.end())
    throw std::invalid_argument("MediaFiles needs at least one speech engine");
}

io::SpeechEngine* MediaFiles::engine_for(std::string_view vendor) const {
  if (vendor.empty() || same_name(vendor, "default")) return engines_.front();
  for (auto* e : engines_)
    if (same_name(vendor, e->name())) return e;
  return nullptr;
}

asio::awaitable<MediaFile> MediaFiles::fetch(const core::Hook& source) {
  auto local = co_await cache_.fetch(source);
  co_return to_port(local);
}

asio::awaitable<MediaFile> MediaFiles::store(std::string wav) {
  std::string format = "wav";
  auto local = co_await cache_.store(std::move(wav), std::move(format));
  co_return to_port(local);
}

asio::awaitable<MediaFile> MediaFiles::speak(const SpeechRequest& req) {
  // Copied before the first suspension: the caller's request need not outlive it.
  io::SpeechText text;
  text.text = req.text;
  text.language = req.language;
  text.voice = req.voice;
  io::SpeechEngine* engine = engine_for(req.vendor);
  if (!engine) {
    observer_.speech(io::SpeechResult::Refused, 0);
    MediaFile refused;
    refused.error = "synthesizer vendor " + req.vendor.substr(0, 64) + " is not available (embedded engine: " +
                    std::string(engines_.front()->name()) + ")";
    co_return refused;
  }
  auto local = co_await engine->synthesize(std::move(text));
  co_return to_port(local);
}

}  // namespace dp::app
