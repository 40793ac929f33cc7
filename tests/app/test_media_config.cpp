// The media options of the command line (--media-*), the media metrics, and the FakeMediaFiles the call
// session's tests script.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <sstream>

#include "app/config/config.hpp"
#include "../common/metrics_series.hpp"
#include "app/observability/metrics.hpp"
#include "fakes/fake_media_files.hpp"

using dp::test::series;

namespace {

std::optional<dp::app::Config> parse(const std::vector<std::string>& args, std::string* error = nullptr) {
  std::ostringstream err;
  bool help = false;
  auto cfg = dp::app::parse_config(args, err, help);
  if (error) *error = err.str();
  return cfg;
}

template <class T>
T run(boost::asio::awaitable<T> aw) {
  boost::asio::io_context ioc;
  auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
  ioc.run();
  return fut.get();
}

}  // namespace

TEST_CASE("--inbound-auth: devices by default, off on request, anything else refused") {
  CHECK(parse({})->inbound_auth == dp::core::InboundAuth::Devices);
  CHECK(parse({"--inbound-auth", "off"})->inbound_auth == dp::core::InboundAuth::Off);
  CHECK(parse({"--inbound-auth=devices"})->inbound_auth == dp::core::InboundAuth::Devices);
  std::string error;
  CHECK_FALSE(parse({"--inbound-auth", "none"}, &error));
  CHECK(error.find("inbound-auth") != std::string::npos);
}

TEST_CASE("media options: defaults, values, ranges, and the max file within the cache") {
  auto defaults = parse({});
  REQUIRE(defaults);
  CHECK(defaults->media_dir == "/tmp/dialplane-media");
  CHECK(defaults->media_cache_mb == 256);
  CHECK(defaults->media_max_file_mb == 20);
  CHECK(defaults->media_fetch_timeout_ms == 5000);
  CHECK(defaults->media_revalidate_s == 300);

  auto set = parse({"--media-dir", "/var/lib/dp-media", "--media-cache-mb=1024", "--media-max-file-mb", "50",
                    "--media-fetch-timeout-ms", "2500", "--media-revalidate-s", "0"});
  REQUIRE(set);
  CHECK(set->media_dir == "/var/lib/dp-media");
  CHECK(set->media_cache_mb == 1024);
  CHECK(set->media_max_file_mb == 50);
  CHECK(set->media_fetch_timeout_ms == 2500);
  CHECK(set->media_revalidate_s == 0);

  std::string error;
  CHECK_FALSE(parse({"--media-cache-mb", "0"}, &error));
  CHECK(error == "invalid value for --media-cache-mb\n");
  CHECK_FALSE(parse({"--media-fetch-timeout-ms", "5"}));
  CHECK_FALSE(parse({"--media-revalidate-s", "-1"}));
  CHECK_FALSE(parse({"--media-dir="}, &error));
  CHECK(error == "--media-dir must not be empty\n");
  CHECK_FALSE(parse({"--media-cache-mb", "10", "--media-max-file-mb", "11"}, &error));
  CHECK(error == "--media-max-file-mb (11) must not exceed --media-cache-mb (10)\n");
}

TEST_CASE("audio fork addresses: loopback by default, IP literals only, the advertised one optional") {
  auto defaults = parse({});
  REQUIRE(defaults);
  CHECK(defaults->media_fork_address == "127.0.0.1");
  CHECK(defaults->media_fork_advertise.empty());
  auto set = parse({"--media-fork-address", "0.0.0.0", "--media-fork-advertise=10.1.2.3"});
  REQUIRE(set);
  CHECK(set->media_fork_address == "0.0.0.0");
  CHECK(set->media_fork_advertise == "10.1.2.3");
  auto v6 = parse({"--media-fork-address", "::1"});
  REQUIRE(v6);
  CHECK(v6->media_fork_address == "::1");
  std::string error;
  CHECK_FALSE(parse({"--media-fork-address", "dialplane.local"}, &error));
  CHECK(error == "invalid value for --media-fork-address\n");
  CHECK_FALSE(parse({"--media-fork-advertise", "1.2.3"}));
  CHECK_FALSE(parse({"--media-fork-address="}, &error));
  CHECK(error == "--media-fork-address must not be empty\n");
}

TEST_CASE("media options are documented in --help with their environment variables") {
  std::ostringstream out;
  dp::app::print_help(out);
  for (const char* env : {"DIALPLANE_MEDIA_DIR", "DIALPLANE_MEDIA_CACHE_MB", "DIALPLANE_MEDIA_MAX_FILE_MB",
                          "DIALPLANE_MEDIA_FETCH_TIMEOUT_MS", "DIALPLANE_MEDIA_REVALIDATE_S",
                          "DIALPLANE_MEDIA_FORK_ADDRESS", "DIALPLANE_MEDIA_FORK_ADVERTISE"}) {
    CAPTURE(env);
    CHECK(out.str().find(env) != std::string::npos);
  }
}

TEST_CASE("FakeMediaFiles records requests and answers scripted files in order, a default file otherwise") {
  dp::test::FakeMediaFiles media;
  dp::app::MediaFile custom;
  custom.ok = true;
  custom.path = "/fake-media/custom.mp3";
  custom.format = "mp3";
  media.answer_fetch("http://app.test/a.mp3", custom);
  media.fail_fetch("http://app.test/a.mp3", "media server answered HTTP 404");
  media.fail_speak("boom", "speech synthesis queue full (8 jobs waiting)");

  dp::core::Hook hook;
  hook.url = "http://app.test/a.mp3";
  hook.username = "u";
  auto first = run(media.fetch(hook));
  CHECK(first.path == "/fake-media/custom.mp3");
  auto second = run(media.fetch(hook));
  CHECK_FALSE(second.ok);
  CHECK(second.error == "media server answered HTTP 404");
  auto third = run(media.fetch(hook));
  CHECK(third.ok);
  CHECK(third.format == "wav");
  REQUIRE(media.fetched.size() == 3);
  CHECK(media.fetched[0].username == "u");

  dp::app::SpeechRequest req;
  req.text = "boom";
  req.vendor = "google";
  CHECK_FALSE(run(media.speak(req)).ok);
  req.text = "hello";
  CHECK(run(media.speak(req)).path == "/fake-media/spoken-2.wav");
  REQUIRE(media.spoken.size() == 2);
  CHECK(media.spoken[0].vendor == "google");
}


TEST_CASE("MediaStats: fetch and speech results, cache size, evictions, engine time; zero series from the start") {
  dp::app::Metrics m, other;
  CHECK(series(m, R"(dialplane_media_fetch_total{result="error"})") == "0");
  CHECK(series(m, R"(dialplane_tts_total{result="refused"})") == "0");
  CHECK(series(m, "dialplane_media_cache_bytes") == "0");
  auto& media = m.media();
  media.media_fetch(dp::io::FetchResult::Hit, 0.0001);
  media.media_fetch(dp::io::FetchResult::Hit, 0.0001);
  media.media_fetch(dp::io::FetchResult::Stale, 2);
  media.media_cache_size(123456, 3);
  media.media_evicted(2);
  media.speech(dp::io::SpeechResult::Synthesized, 0.2);
  media.speech(dp::io::SpeechResult::Refused, 0);
  CHECK(series(m, R"(dialplane_media_fetch_total{result="hit"})") == "2");
  CHECK(series(m, R"(dialplane_media_fetch_total{result="stale"})") == "1");
  CHECK(series(m, R"(dialplane_media_fetch_seconds_count{result="hit"})") == "2");
  CHECK(series(m, "dialplane_media_cache_bytes") == "123456");
  CHECK(series(m, "dialplane_media_cache_files") == "3");
  CHECK(series(m, "dialplane_media_cache_evictions_total") == "2");
  CHECK(series(m, R"(dialplane_tts_total{result="synthesized"})") == "1");
  CHECK(series(m, R"(dialplane_tts_total{result="refused"})") == "1");
  CHECK(series(m, "dialplane_tts_seconds_count") == "1");
  CHECK(series(other, R"(dialplane_media_fetch_total{result="hit"})") == "0");
}
