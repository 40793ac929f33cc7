#include "io/media/media_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "core/log.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace dp::io {
namespace {

// A sidecar's last_used is rewritten at most this often per entry: LRU order survives a restart roughly, and a
// busy prompt does not cost a disk write per use.
constexpr double kPersistLastUsedEvery = 60;
constexpr std::string_view kTempPrefix = ".tmp-";
// A temp file this old is a write that never finished (a crash); younger ones may be another process's write.
constexpr auto kAbandonedTempAge = std::chrono::minutes(10);

std::string errno_message(int e) { return std::error_code(e, std::generic_category()).message(); }

bool write_all(int fd, std::string_view bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes `bytes` to a temp file in `dir` and renames it to `dir/name`: readers see the old file or the whole new
// one. Returns "" or why not (the directory's name is the operator's; no URL is involved).
std::string write_atomically(const fs::path& dir, const std::string& name, std::string_view bytes, std::uint64_t seq) {
  const fs::path tmp =
      dir / (std::string(kTempPrefix) + std::to_string(::getpid()) + "-" + std::to_string(seq) + "-" + name);
  // 0644: rtpengine runs as another user and reads the file.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot create a file in the media directory: " + errno_message(errno);
  bool written = write_all(fd, bytes);
  int write_errno = errno;
  if (::close(fd) != 0 && written) {
    written = false;
    write_errno = errno;
  }
  if (!written) {
    ::unlink(tmp.c_str());
    return "cannot write a media file: " + errno_message(write_errno);
  }
  if (::rename(tmp.c_str(), (dir / name).c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return "cannot rename a media file into place: " + errno_message(e);
  }
  return {};
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

std::optional<std::string> read_small_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(4096, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// `name` split into a cache key and its extension when it is one of ours ("<64 hex>.<ext>").
std::optional<std::pair<std::string, std::string>> split_cache_name(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos || !core::is_cache_key(std::string_view(name).substr(0, dot))) return std::nullopt;
  std::string ext = name.substr(dot + 1);
  if (ext != "wav" && ext != "mp3" && ext != "meta") return std::nullopt;
  return std::make_pair(name.substr(0, dot), ext);
}

void check_writable(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw std::runtime_error("media directory " + dir.string() + " is not a directory");
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("media directory " + dir.string() + " cannot be created: " + ec.message());
  // Named like a temp file, so a probe left by a crash is removed at the next start.
  const std::string probe = std::string(kTempPrefix) + "probe-" + std::to_string(::getpid());
  auto error = write_atomically(dir, probe, "x", 0);
  remove_quietly(dir / probe);
  if (!error.empty()) throw std::runtime_error("media directory " + dir.string() + " is not writable: " + error);
}

}  // namespace

MediaStore::MediaStore(const Options& o, MediaObserver& observer)
    : dir_(fs::absolute(o.dir)), cap_bytes_(o.cap_bytes), observer_(observer), worker_(o.max_queued_writes) {
  check_writable(dir_);
  load();
}

std::string MediaStore::file_path(const std::string& key, const std::string& format) const {
  return (dir_ / (key + "." + format)).string();
}

std::string MediaStore::meta_path(const std::string& key) const { return (dir_ / (key + ".meta")).string(); }

namespace {

// Our files in `dir` by key (their extensions); our temp files abandoned by a crash are removed on the way.
std::map<std::string, std::vector<std::string>> scan_directory(const fs::path& dir) {
  std::map<std::string, std::vector<std::string>> ours;
  for (const auto& item : fs::directory_iterator(dir)) {
    std::error_code ec;
    if (!item.is_regular_file(ec)) continue;
    const std::string name = item.path().filename().string();
    if (name.rfind(kTempPrefix, 0) == 0) {
      auto written = item.last_write_time(ec);
      if (!ec && fs::file_time_type::clock::now() - written > kAbandonedTempAge) remove_quietly(item.path());
    } else if (auto parts = split_cache_name(name)) {
      ours[parts->first].push_back(parts->second);
    }
  }
  return ours;
}

}  // namespace

void MediaStore::load() {
  for (const auto& [key, exts] : scan_directory(dir_)) {
    std::optional<core::CacheMeta> meta;
    if (auto text = read_small_file(meta_path(key))) meta = core::parse_cache_meta(*text);
    std::error_code ec;
    // Kept when the sidecar is valid and its file whole; otherwise every file of the key goes.
    const bool whole = meta && fs::file_size(file_path(key, meta->format), ec) == meta->bytes && !ec;
    if (whole) add(key, *meta);
    for (const auto& ext : exts)
      if (!whole || (ext != "meta" && ext != meta->format)) remove_quietly(dir_ / (key + '.').append(ext));
  }
  for (const auto& victim : take_evictions({})) {
    remove_quietly(victim.meta_path);
    remove_quietly(victim.file_path);
  }
  log::info("media_cache_loaded", {{"dir", dir_.string()}, {"files", std::to_string(index_.size())},
                                   {"bytes", std::to_string(bytes_)}});
  report();
}

std::optional<MediaStore::Entry> MediaStore::find(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return Entry{it->second.meta, file_path(key, it->second.meta.format)};
}

void MediaStore::add(const std::string& key, core::CacheMeta meta) {
  remove_from_index(key);
  bytes_ += meta.bytes;
  Indexed e;
  e.persisted_last_used_s = meta.last_used_s;
  e.meta = std::move(meta);
  index_[key] = std::move(e);
}

void MediaStore::remove_from_index(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  bytes_ -= it->second.meta.bytes;
  index_.erase(it);
}

std::vector<MediaStore::Victim> MediaStore::take_evictions(const std::string& keep) {
  std::vector<core::CacheUsage> usage;
  usage.reserve(index_.size());
  for (const auto& [key, e] : index_) usage.push_back({key, e.meta.bytes, e.meta.last_used_s});
  std::vector<Victim> victims;
  for (auto& key : core::choose_evictions(std::move(usage), cap_bytes_, keep)) {
    victims.push_back({file_path(key, index_.at(key).meta.format), meta_path(key)});
    remove_from_index(key);
  }
  if (!victims.empty()) observer_.media_evicted(victims.size());
  return victims;
}

void MediaStore::touch(const std::string& key, double now_s) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  it->second.meta.last_used_s = now_s;
  if (now_s - it->second.persisted_last_used_s >= kPersistLastUsedEvery) persist_meta_later(key, it->second);
}

void MediaStore::mark_checked(const std::string& key, double now_s) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  it->second.meta.checked_at_s = now_s;
  persist_meta_later(key, it->second);
}

void MediaStore::persist_meta_later(const std::string& key, Indexed& e) {
  e.persisted_last_used_s = e.meta.last_used_s;
  worker_.try_post([dir = dir_, name = key + ".meta", text = core::encode_cache_meta(e.meta), seq = ++temp_seq_] {
    auto error = write_atomically(dir, name, text, seq);
    if (!error.empty()) log::warn("media_meta_write_failed", {{"error", error}});
  });
}

asio::awaitable<LocalMedia> MediaStore::put(std::string key, core::CacheMeta meta, std::string bytes) {
  meta.bytes = bytes.size();
  std::string old_file;
  if (auto it = index_.find(key); it != index_.end() && it->second.meta.format != meta.format)
    old_file = file_path(key, it->second.meta.format);
  auto write = [dir = dir_, key, meta, bytes = std::move(bytes), seq = ++temp_seq_, old_file]() -> std::string {
    auto error = write_atomically(dir, key + "." + meta.format, bytes, seq);
    if (!error.empty()) return error;
    if (!old_file.empty()) remove_quietly(old_file);  // the URL now serves the other format
    return write_atomically(dir, key + ".meta", core::encode_cache_meta(meta), seq);
  };
  std::string error;
  try {
    error = co_await worker_.run(std::move(write));
  } catch (const WorkerBusy& e) {
    error = std::string("media disk queue full (") + e.what() + ")";
  }
  if (!error.empty()) co_return media_error(error);
  add(key, meta);
  auto victims = take_evictions(key);
  if (!victims.empty()) {
    auto evict = [victims] {
      for (const auto& v : victims) {
        remove_quietly(v.meta_path);
        remove_quietly(v.file_path);
      }
      return true;
    };
    try {
      co_await worker_.run(std::move(evict));
    } catch (const WorkerBusy&) {
      // The files stay until the next start (their sidecars bring them back into the index, then over the cap).
      log::warn("media_evict_deferred", {{"files", std::to_string(victims.size())}});
    }
  }
  report();
  LocalMedia out;
  out.ok = true;
  out.path = file_path(key, meta.format);
  out.format = meta.format;
  co_return out;
}

asio::awaitable<LocalMedia> MediaStore::update(std::string key, core::CacheMeta meta) {
  auto it = index_.find(key);
  if (it == index_.end()) co_return media_error("media file is no longer cached");
  meta.bytes = it->second.meta.bytes;
  meta.format = it->second.meta.format;
  auto write = [dir = dir_, name = key + ".meta", text = core::encode_cache_meta(meta), seq = ++temp_seq_] {
    return write_atomically(dir, name, text, seq);
  };
  std::string error;
  try {
    error = co_await worker_.run(std::move(write));
  } catch (const WorkerBusy& e) {
    error = std::string("media disk queue full (") + e.what() + ")";
  }
  // The file is unchanged: a sidecar that could not be written only costs an earlier revalidation later.
  if (!error.empty()) log::warn("media_meta_write_failed", {{"error", error}});
  // Evicted while the sidecar was written: the file is gone, the caller fetches again next time.
  it = index_.find(key);
  if (it == index_.end()) co_return media_error("media file is no longer cached");
  it->second.meta = meta;
  it->second.persisted_last_used_s = meta.last_used_s;
  LocalMedia out;
  out.ok = true;
  out.path = file_path(key, meta.format);
  out.format = meta.format;
  co_return out;
}

void MediaStore::report() const { observer_.media_cache_size(bytes_, index_.size()); }

}  // namespace dp::io
