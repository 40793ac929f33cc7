// MediaCache + MediaStore against a real HTTP server on 127.0.0.1 (tests/io/http_test_server.hpp) and a real
// temporary media directory: download, cache, revalidation, size cap, LRU eviction, single flight.
#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/encoding.hpp"
#include "core/media_format.hpp"
#include "http_test_server.hpp"
#include "io/http/http_client.hpp"
#include "io/media/media_cache.hpp"
#include "io/media/media_store.hpp"
#include "io_test_util.hpp"
#include "media_test_util.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dp::io::FetchResult;
using dp::io::LocalMedia;
using dp::io::MediaCache;
using dp::io::MediaStore;
using dp::test::CountingMediaObserver;
using dp::test::Req;
using dp::test::Res;
using dp::test::TempDir;
using dp::test::TestServer;

namespace {

// The cache over a temporary directory, with a clock the test moves.
struct CacheWorld {
  TempDir dir;
  CountingMediaObserver observed;
  asio::io_context ioc;
  dp::io::TaskGroup tasks{ioc.get_executor()};
  dp::io::HttpClient http{ioc.get_executor(), {}};
  double clock_s = 1'700'000'000;
  std::unique_ptr<MediaStore> store;
  std::unique_ptr<MediaCache> cache;

  explicit CacheWorld(std::uint64_t cap_bytes = 1ULL << 30, MediaCache::Options o = {}) {
    o.clock = [this] { return clock_s; };
    cache_options = o;
    open(cap_bytes);
  }
  // (Re)opens the store and cache on the same directory, like a restart.
  void open(std::uint64_t cap_bytes) {
    cache.reset();
    store.reset();
    MediaStore::Options so;
    so.dir = dir.path;
    so.cap_bytes = cap_bytes;
    store = std::make_unique<MediaStore>(so, observed);
    cache = std::make_unique<MediaCache>(*store, http, tasks, cache_options, observed);
  }
  LocalMedia fetch(const std::string& url, const std::string& user = "", const std::string& password = "") {
    dp::core::Hook hook;
    hook.url = url;
    hook.method = "GET";
    hook.username = user;
    hook.password = password;
    return dp::test::run(ioc, cache->fetch(hook));
  }
  MediaCache::Options cache_options;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Answers GET <path> with `body` (status 200) and counts the requests per path.
void serve(TestServer& srv, std::map<std::string, std::string> bodies, const std::string& content_type = "audio/wav") {
  srv.handler = [bodies = std::move(bodies), content_type](const Req& q, Res& r) {
    auto it = bodies.find(std::string(q.target()));
    if (it == bodies.end()) {
      r.result(http::status::not_found);
      r.set(http::field::content_type, "text/html");
      r.body() = "<html><body>Not Found</body></html>";
      return;
    }
    r.result(http::status::ok);
    r.set(http::field::content_type, content_type);
    r.body() = it->second;
  };
}

}  // namespace

TEST_SUITE("media cache") {
  TEST_CASE("a WAV is downloaded into <sha256(url)>.wav and served again from disk without a request") {
    TestServer srv;
    const auto wav = dp::test::tone_wav(8000, 1.0);
    serve(srv, {{"/prompts/hello.wav", wav}});
    srv.start();
    CacheWorld w;
    const auto url = srv.url("/prompts/hello.wav");
    auto first = w.fetch(url);
    REQUIRE_MESSAGE(first.ok, first.error);
    CHECK(first.format == "wav");
    CHECK(first.path == (fs::path(w.dir.path) / (dp::core::sha256_hex(url) + ".wav")).string());
    CHECK(read_file(first.path) == wav);
    CHECK(fs::exists(fs::path(w.dir.path) / (dp::core::sha256_hex(url) + ".meta")));
    CHECK(srv.requests == 1);

    auto second = w.fetch(url);
    CHECK(second.ok);
    CHECK(second.path == first.path);
    CHECK(srv.requests == 1);
    CHECK(w.observed.fetches(FetchResult::Fetched) == 1);
    CHECK(w.observed.fetches(FetchResult::Hit) == 1);
    CHECK(w.observed.cache_bytes == wav.size());

    SUBCASE("a restart keeps the cache: the sidecar brings the file back, still no request") {
      w.open(1ULL << 30);
      CHECK(w.store->files() == 1);
      auto again = w.fetch(url);
      CHECK(again.ok);
      CHECK(again.path == first.path);
      CHECK(srv.requests == 1);
    }
  }

  TEST_CASE("an MP3 is accepted whatever its Content-Type; the request asks for audio") {
    TestServer srv;
    serve(srv, {{"/music.mp3", dp::test::mp3_frames(20)}}, "application/octet-stream");
    srv.start();
    CacheWorld w;
    auto m = w.fetch(srv.url("/music.mp3"));
    REQUIRE_MESSAGE(m.ok, m.error);
    CHECK(m.format == "mp3");
    CHECK(m.path.ends_with(".mp3"));
    CHECK(std::string(srv.seen().at(0)[http::field::accept]).find("audio/") != std::string::npos);
  }

  TEST_CASE("HTTP 404 is an error and nothing is cached; the error never quotes the URL's query") {
    TestServer srv;
    serve(srv, {});
    srv.start();
    CacheWorld w;
    auto m = w.fetch(srv.url("/missing.wav?token=s3cret"));
    CHECK_FALSE(m.ok);
    CHECK(m.error == "media server answered HTTP 404");
    CHECK(m.path.empty());
    CHECK(w.store->files() == 0);
    CHECK(fs::is_empty(w.dir.path));
    CHECK(w.observed.fetches(FetchResult::Error) == 1);
    // Not cached as a failure either: the next use asks again.
    w.fetch(srv.url("/missing.wav?token=s3cret"));
    CHECK(srv.requests == 2);
  }

  TEST_CASE("HTML or garbage served as audio/wav is refused: the content is sniffed, not the Content-Type") {
    TestServer srv;
    serve(srv, {{"/a.wav", "<!DOCTYPE html><html><body>Please log in</body></html>"},
                {"/b.wav", std::string(5000, '\x42')},
                {"/c.wav", ""}});
    srv.start();
    CacheWorld w;
    for (const char* path : {"/a.wav", "/b.wav", "/c.wav"}) {
      CAPTURE(path);
      auto m = w.fetch(srv.url(path));
      CHECK_FALSE(m.ok);
      CHECK(m.error.find("not a WAV or MP3 file") != std::string::npos);
    }
    CHECK(fs::is_empty(w.dir.path));
  }

  TEST_CASE("a WAV with a codec ffmpeg is not given is refused with the codec") {
    TestServer srv;
    auto wav = dp::test::tone_wav(8000, 0.1);
    wav[20] = 3;  // format tag: IEEE float
    serve(srv, {{"/float.wav", wav}});
    srv.start();
    CacheWorld w;
    auto m = w.fetch(srv.url("/float.wav"));
    CHECK_FALSE(m.ok);
    CHECK(m.error.find("WAV codec 3 not supported") != std::string::npos);
  }

  TEST_CASE("a body over the max file size is refused without reading it: announced, or chunked without end") {
    MediaCache::Options o;
    o.max_file_bytes = 1 << 20;
    o.fetch_timeout = 5000ms;
    CacheWorld w(1ULL << 30, o);
    TestServer srv;
    std::atomic<std::uint64_t> sent{0};
    srv.raw = [&sent](beast::tcp_stream& s, const Req& q) -> asio::awaitable<void> {
      const bool chunked = q.target() == "/chunked.wav";
      std::string head = chunked ? "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 : "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 104857600\r\n\r\n";
      s.expires_after(20s);
      auto head_buffer = asio::buffer(head);  // named, not a temporary in the co_await (docs/coroutines.md)
      auto [ec, n] = co_await asio::async_write(s, head_buffer, dp::test::kTuple);
      // Up to 100 MB in 64 KiB pieces, until the client goes away.
      std::string piece(65536, '\0');
      if (chunked) piece = "10000\r\n" + piece + "\r\n";
      auto piece_buffer = asio::buffer(piece);
      for (int i = 0; i < 1600 && !ec; ++i) {
        auto [wec, wn] = co_await asio::async_write(s, piece_buffer, dp::test::kTuple);
        ec = wec;
        sent += wn;
      }
    };
    srv.start();
    for (const char* path : {"/announced.wav", "/chunked.wav"}) {
      CAPTURE(path);
      sent = 0;
      const auto started = std::chrono::steady_clock::now();
      auto m = w.fetch(srv.url(path));
      const auto took = std::chrono::steady_clock::now() - started;
      CHECK_FALSE(m.ok);
      CHECK(m.error == "media file is larger than 1048576 bytes");
      CHECK(took < 3s);  // refused as soon as known, not at the fetch timeout
      // The client stopped reading: the server could not push the 100 MB (socket buffers hold a few MB).
      CHECK(dp::test::eventually_true([&] { return sent.load() < 40ULL << 20; }));
    }
    CHECK(fs::is_empty(w.dir.path));
  }

  TEST_CASE("the fetch timeout bounds a server that never answers") {
    TestServer srv;
    srv.mode = TestServer::Mode::Hang;
    srv.start();
    MediaCache::Options o;
    o.fetch_timeout = 300ms;
    CacheWorld w(1ULL << 30, o);
    const auto started = std::chrono::steady_clock::now();
    auto m = w.fetch(srv.url("/slow.wav"));
    CHECK_FALSE(m.ok);
    CHECK(m.error.find("timeout") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  }

  TEST_CASE("basic auth is sent when the hook has credentials, and credentials are part of the cache key") {
    TestServer srv;
    serve(srv, {{"/secret.wav", dp::test::tone_wav(8000, 0.2)}});
    srv.start();
    CacheWorld w;
    auto with = w.fetch(srv.url("/secret.wav"), "user", "p@ss:w0rd");
    REQUIRE(with.ok);
    CHECK(srv.seen().at(0)[http::field::authorization] == "Basic " + dp::core::base64_encode("user:p@ss:w0rd"));
    CHECK(with.error.find("p@ss") == std::string::npos);
    // Another tenant without credentials does not get the file fetched with them.
    auto without = w.fetch(srv.url("/secret.wav"));
    REQUIRE(without.ok);
    CHECK(srv.requests == 2);
    CHECK(srv.seen().at(1)[http::field::authorization].empty());
    CHECK(without.path != with.path);
  }

  TEST_CASE("revalidation after revalidate_s: 304 keeps the file, 200 replaces it, a failure serves the old one") {
    TestServer srv;
    std::atomic<int> version{1};
    std::atomic<bool> broken{false};
    const auto v1 = dp::test::tone_wav(8000, 0.5);
    const auto v2 = dp::test::mp3_frames(10);
    srv.handler = [&](const Req& q, Res& r) {
      if (broken) {
        r.result(http::status::internal_server_error);
        return;
      }
      const std::string etag = "\"v" + std::to_string(version.load()) + "\"";
      r.set(http::field::etag, etag);
      r.set(http::field::last_modified, "Wed, 21 Oct 2015 07:28:00 GMT");
      if (q[http::field::if_none_match] == etag) {
        r.result(http::status::not_modified);
        return;
      }
      r.result(http::status::ok);
      r.body() = version == 1 ? v1 : v2;
    };
    srv.start();
    CacheWorld w;  // revalidate_after 300 s
    const auto url = srv.url("/prompt");
    auto first = w.fetch(url);
    REQUIRE(first.ok);
    CHECK(srv.requests == 1);

    w.clock_s += 299;
    CHECK(w.fetch(url).ok);
    CHECK(srv.requests == 1);  // still fresh

    w.clock_s += 2;  // 301 s after the download
    auto revalidated = w.fetch(url);
    CHECK(revalidated.ok);
    CHECK(revalidated.path == first.path);
    CHECK(srv.requests == 2);
    CHECK(srv.seen().at(1)[http::field::if_none_match] == "\"v1\"");
    CHECK(srv.seen().at(1)[http::field::if_modified_since] == "Wed, 21 Oct 2015 07:28:00 GMT");
    CHECK(read_file(first.path) == v1);
    CHECK(w.observed.fetches(FetchResult::Revalidated) == 1);
    CHECK(w.fetch(url).ok);
    CHECK(srv.requests == 2);  // a 304 makes it fresh again

    SUBCASE("200: new content (now an MP3) replaces the file") {
      version = 2;
      w.clock_s += 301;
      auto replaced = w.fetch(url);
      REQUIRE(replaced.ok);
      CHECK(srv.requests == 3);
      CHECK(replaced.format == "mp3");
      CHECK(read_file(replaced.path) == v2);
      CHECK_FALSE(fs::exists(first.path));  // the old WAV went with its format
      CHECK(w.observed.fetches(FetchResult::Fetched) == 2);
      CHECK(w.store->files() == 1);
    }
    SUBCASE("a failed revalidation keeps serving the cached file until the next check is due") {
      broken = true;
      w.clock_s += 301;
      auto stale = w.fetch(url);
      CHECK(stale.ok);
      CHECK(stale.path == first.path);
      CHECK(srv.requests == 3);
      CHECK(w.observed.fetches(FetchResult::Stale) == 1);
      CHECK(w.fetch(url).ok);
      CHECK(srv.requests == 3);  // not asked again at once
      broken = false;
      w.clock_s += 301;
      CHECK(w.fetch(url).ok);
      CHECK(srv.requests == 4);
      CHECK(w.observed.fetches(FetchResult::Revalidated) == 2);
    }
  }

  TEST_CASE("over the byte cap the least recently used files are deleted") {
    TestServer srv;
    const auto wav = dp::test::tone_wav(8000, 1.0);  // 16044 bytes each
    serve(srv, {{"/a.wav", wav}, {"/b.wav", wav}, {"/c.wav", wav}});
    srv.start();
    CacheWorld w(40000);  // room for two
    auto a = w.fetch(srv.url("/a.wav"));
    w.clock_s += 1;
    auto b = w.fetch(srv.url("/b.wav"));
    w.clock_s += 1;
    CHECK(w.fetch(srv.url("/a.wav")).ok);  // a is used again: b is now the least recently used
    w.clock_s += 1;
    auto c = w.fetch(srv.url("/c.wav"));
    REQUIRE((a.ok && b.ok && c.ok));
    CHECK(fs::exists(a.path));
    CHECK_FALSE(fs::exists(b.path));
    CHECK_FALSE(fs::exists(fs::path(b.path).replace_extension(".meta")));
    CHECK(fs::exists(c.path));
    CHECK(w.store->files() == 2);
    CHECK(w.store->bytes() == 2 * wav.size());
    CHECK(w.observed.evicted == 1);
    CHECK(w.observed.cache_bytes == 2 * wav.size());
    CHECK(srv.requests == 3);
    CHECK(w.fetch(srv.url("/b.wav")).ok);  // gone from the cache: fetched again
    CHECK(srv.requests == 4);

    SUBCASE("a restart with a smaller cap evicts at once") {
      w.open(20000);
      CHECK(w.store->files() == 1);
      CHECK(fs::exists(w.fetch(srv.url("/b.wav")).path));
    }
  }

  TEST_CASE("concurrent fetches of one URL share one download") {
    TestServer srv;
    srv.delay = 300ms;
    serve(srv, {{"/shared.wav", dp::test::tone_wav(8000, 0.5)}});
    srv.start();
    CacheWorld w;
    dp::core::Hook hook;
    hook.url = srv.url("/shared.wav");
    auto f1 = asio::co_spawn(w.ioc, w.cache->fetch(hook), asio::use_future);
    auto f2 = asio::co_spawn(w.ioc, w.cache->fetch(hook), asio::use_future);
    CHECK(dp::test::pump_until(
        w.ioc, [&] { return f1.wait_for(0s) == std::future_status::ready && f2.wait_for(0s) == std::future_status::ready; },
        5000ms));
    auto m1 = f1.get();
    auto m2 = f2.get();
    CHECK(m1.ok);
    CHECK(m2.ok);
    CHECK(m1.path == m2.path);
    CHECK(srv.requests == 1);
    CHECK(w.observed.fetches(FetchResult::Fetched) == 1);
    CHECK(w.observed.fetches(FetchResult::Hit) == 1);
    CHECK(w.cache->downloads() == 0);
  }

  TEST_CASE("a cancelled fetch stops waiting; the shared download goes on for the others and fills the cache") {
    TestServer srv;
    srv.delay = 300ms;
    serve(srv, {{"/shared.wav", dp::test::tone_wav(8000, 0.5)}, {"/alone.wav", dp::test::tone_wav(8000, 0.25)}});
    srv.start();
    CacheWorld w;
    dp::core::Hook hook;
    hook.url = srv.url("/shared.wav");
    asio::cancellation_signal hang_up;
    auto cancelled = asio::co_spawn(w.ioc, w.cache->fetch(hook),
                                    asio::bind_cancellation_slot(hang_up.slot(), asio::use_future));
    auto other = asio::co_spawn(w.ioc, w.cache->fetch(hook), asio::use_future);
    dp::test::pump(w.ioc, 50ms);
    hang_up.emit(asio::cancellation_type::terminal);
    CHECK(dp::test::pump_until(w.ioc, [&] { return cancelled.wait_for(0s) == std::future_status::ready; }, 1000ms));
    CHECK_THROWS_AS(cancelled.get(), boost::system::system_error);
    CHECK(dp::test::pump_until(w.ioc, [&] { return other.wait_for(0s) == std::future_status::ready; }, 5000ms));
    CHECK(other.get().ok);
    CHECK(srv.requests == 1);

    SUBCASE("even when every requester left, the download completes and the next fetch is a hit") {
      hook.url = srv.url("/alone.wav");
      asio::cancellation_signal gone;
      auto alone = asio::co_spawn(w.ioc, w.cache->fetch(hook), asio::bind_cancellation_slot(gone.slot(), asio::use_future));
      dp::test::pump(w.ioc, 50ms);
      gone.emit(asio::cancellation_type::terminal);
      CHECK(dp::test::pump_until(w.ioc, [&] { return w.tasks.size() == 0; }, 5000ms));
      CHECK_THROWS_AS(alone.get(), boost::system::system_error);
      CHECK(srv.requests == 2);
      auto hit = w.fetch(hook.url);
      CHECK(hit.ok);
      CHECK(srv.requests == 2);
    }
  }

  TEST_CASE("the store refuses a directory it cannot write, and leaves foreign files alone") {
    TempDir dir;
    CountingMediaObserver observed;
    MediaStore::Options so;
    so.dir = dir.path + "/file";
    { std::ofstream(so.dir.string()) << "x"; }
    CHECK_THROWS_WITH_AS([&] { MediaStore refused(so, observed); }(), doctest::Contains("is not a directory"),
                         std::runtime_error);
    so.dir = "/proc/dialplane-media-test";  // not even root can create it
    CHECK_THROWS_WITH_AS([&] { MediaStore refused(so, observed); }(), doctest::Contains("cannot be created"),
                         std::runtime_error);

    // Our leftovers go at start (an abandoned temp file, a file without a sidecar), foreign files stay.
    so.dir = dir.path + "/media";
    fs::create_directories(so.dir);
    const auto key = dp::core::sha256_hex("x");
    { std::ofstream(so.dir / (key + ".wav")) << "orphan"; }
    { std::ofstream(so.dir / "welcome.wav") << "operator's file"; }
    { std::ofstream(so.dir / ".tmp-1-1-old") << "partial"; }
    fs::last_write_time(so.dir / ".tmp-1-1-old", fs::file_time_type::clock::now() - std::chrono::hours(1));
    MediaStore store(so, observed);
    CHECK(store.files() == 0);
    CHECK_FALSE(fs::exists(so.dir / (key + ".wav")));
    CHECK_FALSE(fs::exists(so.dir / ".tmp-1-1-old"));
    CHECK(fs::exists(so.dir / "welcome.wav"));
  }
}
