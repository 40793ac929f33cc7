// The media directory as a size-capped cache of playable files (fetched URLs and synthesized speech), shared
// with rtpengine, which opens the paths it is given.
//
// Layout: `<key>.<wav|mp3>` (key = 64 hex digits, core/media_format) and its sidecar `<key>.meta` (JSON:
// validators, fetch/check/use times, size), both written to a `.tmp-*` file first and renamed, so rtpengine and a
// restart only ever see whole files. At start the sidecars rebuild the index; our leftovers (temp files, files
// without a valid sidecar, sidecars without their file) are removed, anything else in the directory is left
// alone. Over the byte cap, the least recently used entries are deleted.
//
// File I/O runs on a dedicated thread (a WorkerThread), never on the caller's io_context thread. The index is
// not thread-safe: use the store on one executor's thread. One directory per dialplane instance.
#pragma once
#include "core/media_format.hpp"
#include "io/media/media_observer.hpp"
#include "io/media/worker_thread.hpp"

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dp::io {

// A file ready to play, or why there is none (errors are safe to log: no URL query, no credentials).
struct LocalMedia {
  bool ok = false;
  std::string path;    // absolute
  std::string format;  // "wav" | "mp3"
  std::string error;
};

inline LocalMedia media_error(std::string why) {
  LocalMedia m;
  m.error = std::move(why);
  return m;
}

class MediaStore {
 public:
  struct Options {
    std::filesystem::path dir = "/tmp/dialplane-media";
    std::uint64_t cap_bytes = 256ULL << 20;
    std::size_t max_queued_writes = 64;  // disk jobs waiting for the I/O thread; more are refused
  };
  struct Entry {
    core::CacheMeta meta;
    std::string path;  // absolute
  };

  // Creates the directory if needed and checks that it is writable; throws std::runtime_error (naming the
  // directory and the reason) when it cannot. Loads the index from the sidecars (blocking: start-up only).
  MediaStore(const Options& o, MediaObserver& observer);
  MediaStore(const MediaStore&) = delete;
  MediaStore& operator=(const MediaStore&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::optional<Entry> find(const std::string& key) const;

  // Marks `key` used at `now_s` (LRU order); written to its sidecar lazily (at most once a minute per entry).
  void touch(const std::string& key, double now_s);
  // Records that the server was asked at `now_s` and did not confirm the file (a failed revalidation): the
  // file is served until the next check is due.
  void mark_checked(const std::string& key, double now_s);

  // Writes `bytes` as `<key>.<meta.format>` and its sidecar (replacing an older entry of `key`), then deletes
  // least recently used entries until the cap holds (never this one). meta.bytes is set here. Ends with the
  // file's path, or an error (disk full, I/O queue full).
  boost::asio::awaitable<LocalMedia> put(std::string key, core::CacheMeta meta, std::string bytes);
  // Replaces an existing entry's sidecar (revalidated: new times, maybe new validators); the file stays.
  boost::asio::awaitable<LocalMedia> update(std::string key, core::CacheMeta meta);

  // Refuses further writes (shutdown).
  void stop() { worker_.stop(); }

  std::uint64_t bytes() const { return bytes_; }
  std::size_t files() const { return index_.size(); }

 private:
  struct Indexed {
    core::CacheMeta meta;
    double persisted_last_used_s = 0;
  };
  std::string file_path(const std::string& key, const std::string& format) const;
  std::string meta_path(const std::string& key) const;
  void load();
  void add(const std::string& key, core::CacheMeta meta);
  void remove_from_index(const std::string& key);
  struct Victim {
    std::string file_path, meta_path;
  };
  // Entries to delete so the cap holds, removed from the index; `keep` stays.
  std::vector<Victim> take_evictions(const std::string& keep);
  void persist_meta_later(const std::string& key, Indexed& e);
  void report() const;

  std::filesystem::path dir_;
  std::uint64_t cap_bytes_;
  MediaObserver& observer_;
  std::map<std::string, Indexed> index_;
  std::uint64_t bytes_ = 0;
  std::uint64_t temp_seq_ = 0;
  WorkerThread worker_;
};

}  // namespace dp::io
