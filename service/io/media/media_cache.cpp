#include "io/media/media_cache.hpp"

#include <boost/beast/core/string.hpp>

#include "core/log.hpp"
#include "core/media_format.hpp"
#include "io/clock.hpp"

namespace asio = boost::asio;

namespace dp::io {
namespace {

std::string header_value(const HttpResponse& res, std::string_view name) {
  for (const auto& [k, v] : res.headers)
    if (boost::beast::iequals(k, name)) return v;
  return {};
}

// HttpError messages never quote the URL (its query may hold a token).
std::string describe(const HttpError& e, std::uint64_t max_file_bytes) {
  if (e.body_too_large) return "media file is larger than " + std::to_string(max_file_bytes) + " bytes";
  return std::string("media fetch failed: ") + e.what();
}

LocalMedia served(const MediaStore::Entry& e) {
  LocalMedia m;
  m.ok = true;
  m.path = e.path;
  m.format = e.meta.format;
  return m;
}

// Frees a download slot however the download ends. Shares the counter: a coroutine frame destroyed at
// io_context teardown may outlive the cache.
struct DownloadSlot {
  std::shared_ptr<std::size_t> count;
  explicit DownloadSlot(std::shared_ptr<std::size_t> c) : count(std::move(c)) { ++*count; }
  ~DownloadSlot() { --*count; }
  DownloadSlot(const DownloadSlot&) = delete;
  DownloadSlot& operator=(const DownloadSlot&) = delete;
};

}  // namespace

MediaCache::MediaCache(MediaStore& store, HttpClient& http, TaskGroup& tasks, Options o, MediaObserver& observer)
    : store_(store), http_(http), opts_(std::move(o)), observer_(observer), flights_(tasks) {}

asio::awaitable<LocalMedia> MediaCache::store(std::string bytes, std::string format) {
  auto key = core::sha256_hex("generated|" + format + "|" + bytes);
  double t = now();
  if (auto hit = store_.find(key); hit && hit->meta.format == format) {
    store_.touch(key, t);
    LocalMedia m;
    m.ok = true;
    m.path = hit->path;
    m.format = format;
    co_return m;
  }
  core::CacheMeta meta;
  meta.format = format;
  meta.fetched_at_s = t;
  meta.checked_at_s = t;
  meta.last_used_s = t;
  auto local = co_await store_.put(std::move(key), std::move(meta), std::move(bytes));
  co_return local;
}

double MediaCache::now() const { return opts_.clock ? opts_.clock() : wall_now(); }

asio::awaitable<LocalMedia> MediaCache::fetch(const core::Hook& source) {
  const auto started = std::chrono::steady_clock::now();
  // Copies before the first suspension: the caller's Hook need not outlive it.
  Source src{source.url, source.username, source.password};
  Outcome outcome;
  if (src.url.empty()) {
    outcome.media = media_error("no media URL");
  } else {
    const std::string key = core::media_cache_key(src.url, src.username, src.password);
    const auto cached = store_.find(key);
    const double t = now();
    const double checked_at = cached ? cached->meta.checked_at_s : 0;
    const auto action = core::cache_action(cached.has_value(), checked_at, t,
                                           static_cast<double>(opts_.revalidate_after.count()));
    if (action == core::CacheAction::Serve) {
      store_.touch(key, t);
      outcome = Outcome{served(*cached), FetchResult::Hit};
    } else {
      bool led = false;
      auto work = [this, src, key, &led] {
        led = true;
        return download(src, key);
      };
      Outcome abandoned{media_error("media download was abandoned"), FetchResult::Error};
      outcome = co_await flights_.run(key, std::move(work), abandoned);
      // Served by another fetch's download of the same URL: no request of its own.
      if (!led && outcome.media.ok) outcome.result = FetchResult::Hit;
    }
  }
  observer_.media_fetch(outcome.result,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return outcome.media;
}

HttpRequest MediaCache::request_for(const Source& src, const std::optional<MediaStore::Entry>& cached) const {
  HttpRequest req;
  req.method = "GET";
  req.url = src.url;
  req.timeout = opts_.fetch_timeout;
  req.max_body_bytes = static_cast<std::size_t>(opts_.max_file_bytes);
  req.basic_auth_user = src.username;
  req.basic_auth_password = src.password;
  req.headers.emplace_back("Accept", "audio/wav, audio/mpeg, audio/*;q=0.9, */*;q=0.1");
  if (cached && !cached->meta.etag.empty()) req.headers.emplace_back("If-None-Match", cached->meta.etag);
  if (cached && !cached->meta.last_modified.empty())
    req.headers.emplace_back("If-Modified-Since", cached->meta.last_modified);
  return req;
}

asio::awaitable<MediaCache::Outcome> MediaCache::download(Source src, std::string key) {
  const auto cached = store_.find(key);
  if (*downloads_ >= opts_.max_downloads) {
    const std::string why = "too many media downloads at once (" + std::to_string(*downloads_) + ")";
    // Nothing was asked: a cached file is served without counting as checked.
    if (cached) co_return Outcome{served(*cached), FetchResult::Stale};
    log::warn("media_fetch_failed", {{"url", log::loggable_url(src.url)}, {"error", why}});
    co_return Outcome{media_error(why), FetchResult::Error};
  }
  DownloadSlot slot(downloads_);
  auto req = request_for(src, cached);
  HttpResponse res;
  std::string failure;
  try {
    res = co_await http_.send(std::move(req));
  } catch (const HttpError& e) {
    failure = describe(e, opts_.max_file_bytes);
  }
  if (!failure.empty()) co_return stale_or_error(src, key, cached, failure);
  auto outcome = co_await settle(src, key, std::move(res), cached);
  co_return outcome;
}

asio::awaitable<MediaCache::Outcome> MediaCache::settle(const Source& src, const std::string& key, HttpResponse res,
                                                        const std::optional<MediaStore::Entry>& cached) {
  if (res.status == 304 && cached) {
    auto kept = co_await keep_revalidated(key, res, *cached);
    co_return kept;
  }
  if (res.status != 200)
    co_return stale_or_error(src, key, cached, "media server answered HTTP " + std::to_string(res.status));
  auto stored = co_await store_body(src, key, res, cached);
  co_return stored;
}

asio::awaitable<MediaCache::Outcome> MediaCache::store_body(const Source& src, const std::string& key,
                                                            HttpResponse& res,
                                                            const std::optional<MediaStore::Entry>& cached) {
  const auto probe = core::sniff_media(res.body);
  if (!probe.ok()) co_return stale_or_error(src, key, cached, "media content refused: " + probe.error);
  core::CacheMeta meta;
  meta.format = probe.format;
  meta.etag = header_value(res, "ETag");
  meta.last_modified = header_value(res, "Last-Modified");
  meta.fetched_at_s = meta.checked_at_s = meta.last_used_s = now();
  const std::string bytes = std::to_string(res.body.size());
  auto stored = co_await store_.put(key, std::move(meta), std::move(res.body));
  if (!stored.ok) co_return stale_or_error(src, key, cached, stored.error);
  log::info("media_fetched",
            {{"url", log::loggable_url(src.url)}, {"format", stored.format}, {"bytes", bytes},
             {"replaced", cached ? "true" : "false"}});
  co_return Outcome{stored, FetchResult::Fetched};
}

asio::awaitable<MediaCache::Outcome> MediaCache::keep_revalidated(const std::string& key, const HttpResponse& res,
                                                                  const MediaStore::Entry& cached) {
  core::CacheMeta meta = cached.meta;
  meta.fetched_at_s = meta.checked_at_s = meta.last_used_s = now();
  // A 304 may carry updated validators (RFC 9110 §15.4.5).
  if (auto etag = header_value(res, "ETag"); !etag.empty()) meta.etag = etag;
  if (auto lm = header_value(res, "Last-Modified"); !lm.empty()) meta.last_modified = lm;
  auto kept = co_await store_.update(key, std::move(meta));
  log::debug("media_revalidated", {{"key", key}, {"kept", kept.ok ? "true" : "false"}});
  co_return Outcome{kept, kept.ok ? FetchResult::Revalidated : FetchResult::Error};
}

MediaCache::Outcome MediaCache::stale_or_error(const Source& src, const std::string& key,
                                               const std::optional<MediaStore::Entry>& cached, const std::string& why) {
  // The entry may have been evicted while the request ran.
  auto still = cached ? store_.find(key) : std::nullopt;
  if (still) {
    const double t = now();
    store_.mark_checked(key, t);
    store_.touch(key, t);
    log::warn("media_revalidation_failed",
              {{"url", log::loggable_url(src.url)}, {"error", why}, {"serving", "cached file"}});
    return Outcome{served(*still), FetchResult::Stale};
  }
  log::warn("media_fetch_failed", {{"url", log::loggable_url(src.url)}, {"error", why}});
  return Outcome{media_error(why), FetchResult::Error};
}

}  // namespace dp::io
