// FliteTts (the real flite library, voice slt) into a real temporary media directory, and app::MediaFiles'
// vendor routing on top of it.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/media/media_files.hpp"
#include "core/media_format.hpp"
#include "io/http/http_client.hpp"
#include "io/media/flite_tts.hpp"
#include "io/media/media_cache.hpp"
#include "io/media/media_store.hpp"
#include "io_test_util.hpp"
#include "media_test_util.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dp::io::FliteTts;
using dp::io::LocalMedia;
using dp::io::SpeechResult;
using dp::io::SpeechText;

namespace {

struct SpeechWorld {
  dp::test::TempDir dir;
  dp::test::CountingMediaObserver observed;
  asio::io_context ioc;
  dp::io::TaskGroup tasks{ioc.get_executor()};
  dp::io::HttpClient http{ioc.get_executor(), {}};
  std::unique_ptr<dp::io::MediaStore> store;
  std::unique_ptr<dp::io::MediaCache> cache;
  std::unique_ptr<FliteTts> flite;
  std::unique_ptr<dp::app::MediaFiles> files;

  explicit SpeechWorld(FliteTts::Options o = {}) {
    dp::io::MediaStore::Options so;
    so.dir = dir.path;
    store = std::make_unique<dp::io::MediaStore>(so, observed);
    cache = std::make_unique<dp::io::MediaCache>(*store, http, tasks, dp::io::MediaCache::Options{}, observed);
    flite = std::make_unique<FliteTts>(*store, tasks, observed, o);
    std::vector<dp::io::SpeechEngine*> engines{flite.get()};
    files = std::make_unique<dp::app::MediaFiles>(*cache, engines, observed);
  }
  ~SpeechWorld() {
    files.reset();
    flite.reset();  // joins flite's thread before the store goes
  }
  dp::app::MediaFile speak(const std::string& text, const std::string& vendor = "", const std::string& language = "en-US",
                           const std::string& voice = "") {
    dp::app::SpeechRequest req;
    req.text = text;
    req.vendor = vendor;
    req.language = language;
    req.voice = voice;
    return dp::test::run(ioc, files->speak(req));
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SpeechText text_of(const std::string& s) {
  SpeechText t;
  t.text = s;
  return t;
}

}  // namespace

TEST_SUITE("flite") {
  TEST_CASE("speak renders a WAV the sniffer accepts, of a plausible duration; the second call is a cache hit") {
    SpeechWorld w;
    auto first = w.speak("hello world");
    REQUIRE_MESSAGE(first.ok, first.error);
    CHECK(first.format == "wav");
    CHECK(first.path == (fs::path(w.dir.path) / (dp::core::tts_cache_key("flite", "slt", "hello world") + ".wav")).string());
    const auto wav = read_file(first.path);
    auto probe = dp::core::sniff_media(wav);
    REQUIRE_MESSAGE(probe.ok(), probe.error);
    CHECK(probe.format == "wav");
    CHECK(probe.wav_codec == 1);
    CHECK(probe.sample_rate == 16000);
    REQUIRE(probe.duration_s);
    MESSAGE("\"hello world\": " << *probe.duration_s << " s");
    CHECK(*probe.duration_s > 0.4);
    CHECK(*probe.duration_s < 3.0);
    CHECK(w.observed.speeches(SpeechResult::Synthesized) == 1);

    const auto written = fs::last_write_time(first.path);
    auto second = w.speak("hello world", "flite", "en-GB");
    CHECK(second.ok);
    CHECK(second.path == first.path);
    CHECK(fs::last_write_time(first.path) == written);
    CHECK(w.observed.speeches(SpeechResult::Hit) == 1);
    CHECK(w.observed.speeches(SpeechResult::Synthesized) == 1);
  }

  TEST_CASE("vendors: \"\", default and flite (any case) use flite; any other vendor is a clear error") {
    SpeechWorld w;
    CHECK(w.files->engine_for("") == w.flite.get());
    CHECK(w.files->engine_for("default") == w.flite.get());
    CHECK(w.files->engine_for("Flite") == w.flite.get());
    CHECK(w.files->engine_for("google") == nullptr);
    auto refused = w.speak("hello", "google");
    CHECK_FALSE(refused.ok);
    CHECK(refused.error == "synthesizer vendor google is not available (embedded engine: flite)");
    CHECK(refused.path.empty());
    CHECK(w.observed.speeches(SpeechResult::Refused) == 1);
    CHECK(fs::is_empty(w.dir.path));
  }

  TEST_CASE("language, voice and text are checked before any rendering") {
    SpeechWorld w;
    auto german = w.speak("hallo", "", "de-DE");
    CHECK(german.error == "language de-DE is not available in flite (en-US, en-GB)");
    auto voice = w.speak("hello", "", "en-US", "en-US-Wavenet-A");
    CHECK(voice.error == "voice en-US-Wavenet-A is not available in flite (slt)");
    CHECK(w.speak("  \n", "").error == "nothing to say: the text is empty");
    CHECK(w.speak(std::string(3001, 'a')).error == "text of 3001 bytes is longer than the limit of 3000");
    CHECK(w.speak("hello", "", "", "slt").ok);
    CHECK(w.speak("hello", "", "en-us", "CMU_US_SLT").ok);
    CHECK(w.observed.speeches(SpeechResult::Refused) == 4);
  }

  TEST_CASE("the queue is bounded: a request over max_waiting is refused at once") {
    FliteTts::Options o;
    o.max_waiting = 1;
    SpeechWorld w(o);
    auto long_text = text_of(
        "This sentence is long enough that flite spends a noticeable time on it, so the next request finds the "
        "engine busy and is refused instead of waiting in an unbounded queue.");
    auto f1 = asio::co_spawn(w.ioc, w.flite->synthesize(long_text), asio::use_future);
    auto f2 = asio::co_spawn(w.ioc, w.flite->synthesize(text_of("a different text")), asio::use_future);
    CHECK(dp::test::pump_until(
        w.ioc, [&] { return f1.wait_for(0s) == std::future_status::ready && f2.wait_for(0s) == std::future_status::ready; },
        10000ms));
    LocalMedia m1 = f1.get();
    LocalMedia m2 = f2.get();
    CHECK(m1.ok);
    CHECK_FALSE(m2.ok);
    CHECK(m2.error.find("speech synthesis queue full") == 0);
    CHECK(w.observed.speeches(SpeechResult::Refused) == 1);
  }

  TEST_CASE("concurrent requests for one text share one rendering") {
    SpeechWorld w;
    auto f1 = asio::co_spawn(w.ioc, w.flite->synthesize(text_of("shared words")), asio::use_future);
    auto f2 = asio::co_spawn(w.ioc, w.flite->synthesize(text_of("shared words")), asio::use_future);
    CHECK(dp::test::pump_until(
        w.ioc, [&] { return f1.wait_for(0s) == std::future_status::ready && f2.wait_for(0s) == std::future_status::ready; },
        10000ms));
    auto m1 = f1.get();
    auto m2 = f2.get();
    CHECK(m1.ok);
    CHECK(m2.path == m1.path);
    CHECK(w.observed.speeches(SpeechResult::Synthesized) == 1);
    CHECK(w.observed.speeches(SpeechResult::Hit) == 1);
  }

  TEST_CASE("a request that waits longer than the timeout gets an error; the engine is not blocked for good") {
    FliteTts::Options o;
    o.timeout = 1ms;
    SpeechWorld w(o);
    auto m = dp::test::run(w.ioc, w.flite->synthesize(text_of("too slow for one millisecond, surely")));
    CHECK_FALSE(m.ok);
    CHECK(m.error.find("speech synthesis timed out") == 0);
    CHECK(w.observed.speeches(SpeechResult::Error) == 1);
  }
}
