// MediaFilesPort that records fetches and speech requests and answers scripted files: a URL or a text without a
// script gets a file under /media named after it.
#pragma once
#include "app/ports/media_files_port.hpp"

#include <map>
#include <string>
#include <vector>

namespace dp::test {

class FakeMediaFiles final : public app::MediaFilesPort {
 public:
  boost::asio::awaitable<app::MediaFile> fetch(const core::Hook& source) override {
    fetched.push_back(source);
    co_return answer(source.url);
  }

  boost::asio::awaitable<app::MediaFile> speak(const app::SpeechRequest& req) override {
    spoken.push_back(req);
    co_return answer(req.text);
  }

  // What fetching `url` (or saying `text`) gives from now on.
  void script(const std::string& url_or_text, app::MediaFile file) { files_[url_or_text] = std::move(file); }
  void fail(const std::string& url_or_text, std::string error) {
    app::MediaFile f;
    f.error = std::move(error);
    files_[url_or_text] = std::move(f);
  }

  std::vector<core::Hook> fetched;
  std::vector<app::SpeechRequest> spoken;

 private:
  app::MediaFile answer(const std::string& key) const {
    if (auto it = files_.find(key); it != files_.end()) return it->second;
    app::MediaFile f;
    f.ok = true;
    f.path = "/media/" + std::to_string(std::hash<std::string>{}(key)) + ".wav";
    f.format = "wav";
    return f;
  }
  std::map<std::string, app::MediaFile> files_;
};

}  // namespace dp::test
