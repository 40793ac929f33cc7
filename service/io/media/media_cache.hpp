// Audio files fetched over HTTP(S) into the MediaStore: the file rtpengine plays for a `play` URL.
//
// - A fresh entry (checked with its server less than `revalidate_after` ago) is served from disk, no request.
// - After that, the next use revalidates: GET with If-None-Match / If-Modified-Since; 304 keeps the file, 200
//   replaces it, a failure (no answer, an error status, content that is not audio) keeps serving the old file
//   (logged) until the next check is due.
// - A download is bounded by `fetch_timeout` (connect included) and `max_file_bytes` (a bigger body is refused
//   as soon as that is known, never read in full); its content must sniff as WAV or MP3 (core/media_format:
//   Content-Type is not trusted).
// - Concurrent fetches of one URL share one download, run as a task of the given TaskGroup: a fetch whose task is
//   cancelled stops waiting, the download goes on for the others and still fills the cache. At most
//   `max_downloads` downloads run at once (more are refused at once, not queued).
// - The source's basic-auth credentials are sent when it has a user name, and are part of the cache key.
// - Logs and errors carry no credentials and no query string (log::loggable_url).
//
// Not thread-safe: use it on one executor's thread (dialplane runs one io_context thread).
#pragma once
#include "core/provisioning.hpp"
#include "io/http/http_client.hpp"
#include "io/media/media_observer.hpp"
#include "io/media/media_store.hpp"
#include "io/media/single_flight.hpp"
#include "io/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace dp::io {

class MediaCache {
 public:
  struct Options {
    std::chrono::milliseconds fetch_timeout{5000};
    std::uint64_t max_file_bytes = 20ULL << 20;
    std::chrono::seconds revalidate_after{300};
    std::size_t max_downloads = 16;
    std::function<double()> clock;  // wall clock in epoch seconds; empty = io::wall_now (tests inject one)
  };

  // `tasks` runs the downloads (the owner cancels and drains it).
  MediaCache(MediaStore& store, HttpClient& http, TaskGroup& tasks, Options o, MediaObserver& observer);
  MediaCache(const MediaCache&) = delete;
  MediaCache& operator=(const MediaCache&) = delete;

  // The local file for `source.url`. Never throws for a fetch problem: the result says why there is no file.
  // (Cancellation of the calling task still ends it with operation_aborted.)
  boost::asio::awaitable<LocalMedia> fetch(const core::Hook& source);

  // Audio made by dialplane itself (a listen's playAudio, its beep): `bytes` (a whole WAV file) kept in the cache
  // under the sha256 of its content, so rtpengine can play it; the same content is written once. Never throws
  // for a disk problem (the result says why).
  boost::asio::awaitable<LocalMedia> store(std::string bytes, std::string format);

  // Downloads running right now.
  std::size_t downloads() const { return *downloads_; }

 private:
  struct Source {
    std::string url, username, password;
  };
  struct Outcome {
    LocalMedia media;
    FetchResult result = FetchResult::Error;
  };
  boost::asio::awaitable<Outcome> download(Source src, std::string key);
  boost::asio::awaitable<Outcome> settle(const Source& src, const std::string& key, HttpResponse res,
                                         const std::optional<MediaStore::Entry>& cached);
  boost::asio::awaitable<Outcome> store_body(const Source& src, const std::string& key, HttpResponse& res,
                                             const std::optional<MediaStore::Entry>& cached);
  boost::asio::awaitable<Outcome> keep_revalidated(const std::string& key, const HttpResponse& res,
                                                   const MediaStore::Entry& cached);
  Outcome stale_or_error(const Source& src, const std::string& key, const std::optional<MediaStore::Entry>& cached,
                         const std::string& why);
  HttpRequest request_for(const Source& src, const std::optional<MediaStore::Entry>& cached) const;
  double now() const;

  MediaStore& store_;
  HttpClient& http_;
  Options opts_;
  MediaObserver& observer_;
  SingleFlight<Outcome> flights_;
  std::shared_ptr<std::size_t> downloads_ = std::make_shared<std::size_t>(0);
};

}  // namespace dp::io
