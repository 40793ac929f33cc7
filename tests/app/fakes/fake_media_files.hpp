// In-memory MediaFilesPort: scripted files by URL / text, records what was asked.
#pragma once
#include "app/ports/media_files_port.hpp"

#include <map>
#include <string>
#include <vector>

namespace dp::test {

class FakeMediaFiles final : public app::MediaFilesPort {
 public:
  std::vector<core::Hook> fetched;
  std::vector<app::SpeechRequest> spoken;
  std::map<std::string, app::MediaFile> files;  // by URL; absent: "404"

  boost::asio::awaitable<app::MediaFile> fetch(const core::Hook& source) override {
    fetched.push_back(source);
    if (auto it = files.find(source.url); it != files.end()) co_return it->second;
    co_return app::MediaFile{false, {}, {}, "HTTP 404"};
  }
  boost::asio::awaitable<app::MediaFile> speak(const app::SpeechRequest& req) override {
    spoken.push_back(req);
    co_return app::MediaFile{true, "/media/tts-" + std::to_string(spoken.size()) + ".wav", "wav", {}};
  }
};

}  // namespace dp::test
