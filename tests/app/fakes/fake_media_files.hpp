// MediaFilesPort that records every request and answers scripted files (per URL / per text, in order; without a
// script: a file that "exists" at a made-up path under /fake-media). No disk, no HTTP, no flite.
#pragma once
#include "app/ports/media_files_port.hpp"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace dp::test {

class FakeMediaFiles final : public app::MediaFilesPort {
 public:
  boost::asio::awaitable<app::MediaFile> fetch(const core::Hook& source) override {
    fetched.push_back(source);
    co_return next(fetch_scripts_, source.url, "/fake-media/fetched-" + std::to_string(fetched.size()) + ".wav");
  }

  boost::asio::awaitable<app::MediaFile> speak(const app::SpeechRequest& req) override {
    spoken.push_back(req);
    co_return next(speak_scripts_, req.text, "/fake-media/spoken-" + std::to_string(spoken.size()) + ".wav");
  }

  boost::asio::awaitable<app::MediaFile> store(std::string wav) override {
    stored.push_back(std::move(wav));
    app::MediaFile ok;
    ok.ok = true;
    ok.path = "/fake-media/stored-" + std::to_string(stored.size()) + ".wav";
    ok.format = "wav";
    co_return ok;
  }
  std::vector<std::string> stored;

  // The next fetch of `url` answers `file`.
  void answer_fetch(const std::string& url, app::MediaFile file) { fetch_scripts_[url].push_back(std::move(file)); }
  // The next fetch of `url` fails with `error`.
  void fail_fetch(const std::string& url, std::string error) { fetch_scripts_[url].push_back(failure(std::move(error))); }
  // The next speak of `text` answers `file`.
  void answer_speak(const std::string& text, app::MediaFile file) { speak_scripts_[text].push_back(std::move(file)); }
  // The next speak of `text` fails with `error`.
  void fail_speak(const std::string& text, std::string error) { speak_scripts_[text].push_back(failure(std::move(error))); }

  std::vector<core::Hook> fetched;
  std::vector<app::SpeechRequest> spoken;

 private:
  using Scripts = std::map<std::string, std::deque<app::MediaFile>>;

  static app::MediaFile failure(std::string error) {
    app::MediaFile f;
    f.error = std::move(error);
    return f;
  }

  static app::MediaFile next(Scripts& scripts, const std::string& key, std::string default_path) {
    auto it = scripts.find(key);
    if (it == scripts.end() || it->second.empty()) {
      app::MediaFile ok;
      ok.ok = true;
      ok.path = std::move(default_path);
      ok.format = "wav";
      return ok;
    }
    auto f = std::move(it->second.front());
    it->second.pop_front();
    return f;
  }

  Scripts fetch_scripts_;
  Scripts speak_scripts_;
};

}  // namespace dp::test
