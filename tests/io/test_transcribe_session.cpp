// TranscribeRun (app/session/transcribe_session) with a scripted rtpengine (FakeMedia) and a scripted recognizer:
// speech sent as RTP to the fork's socket (flite's slt voice, 8 kHz µ-law by sox) reaches the recognizer as
// 16 kHz utterances; finals and interims go out; a refused decoder is an error event with no fork; a pause ends
// the utterance and ignores audio; the dial's end flushes the open utterance and unsubscribes.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/udp.hpp>
#include <fstream>
#include <optional>
#include <iterator>

#include "../app/fakes/fake_media.hpp"
#include "../common/rtp_test_util.hpp"
#include "app/observability/metrics.hpp"
#include "app/session/transcribe_session.hpp"
#include "core/rtp.hpp"
#include "io_test_util.hpp"
#include "media_test_util.hpp"

namespace asio = boost::asio;
namespace ng = dp::core::ng;
using asio::ip::udp;
using dp::app::TranscribeRun;
using namespace std::chrono_literals;

namespace {

const char* kOffer1 =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

dp::io::NgResult subscribe_offer() {
  dp::io::NgResult r;
  r.kind = dp::io::NgResult::Kind::Ok;
  r.reply.result = ng::NgReply::Result::Ok;
  r.reply.sdp = kOffer1;
  r.reply.to_tag = "sub-tag";
  r.reply.from_tags = {"tt"};
  return r;
}

// µ-law payloads of `text` (flite slt → sox 8 kHz µ-law), 160 bytes each.
std::vector<std::vector<std::uint8_t>> speech(const std::string& text, const std::string& dir) {
  std::string txt = dir + "/s.txt", wav = dir + "/s.wav", ul = dir + "/s.ul";
  std::ofstream(txt) << text;
  std::string cmd = "flite -voice slt -f '" + txt + "' -o '" + wav + "' && sox -R -D '" + wav +
                    "' -r 8000 -c 1 -e mu-law -t raw '" + ul + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(ul, std::ios::binary);
  std::vector<std::uint8_t> law((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  law.resize((law.size() + 159) / 160 * 160, 0xFF);
  std::vector<std::vector<std::uint8_t>> out;
  for (std::size_t i = 0; i < law.size(); i += 160) out.emplace_back(law.begin() + static_cast<long>(i),
                                                                      law.begin() + static_cast<long>(i + 160));
  return out;
}

std::vector<std::vector<std::uint8_t>> silence(int packets) {
  return std::vector<std::vector<std::uint8_t>>(static_cast<std::size_t>(packets), std::vector<std::uint8_t>(160, 0xFF));
}

// A recognizer that counts what it is fed and answers "hello world" for any utterance that got audio.
struct ScriptedStream final : dp::app::SpeechStreamPort {
  explicit ScriptedStream(std::vector<std::string>& log) : log_(log) {}
  asio::awaitable<dp::app::SttHypothesisResult> feed(std::vector<std::int16_t> pcm, std::chrono::milliseconds) override {
    fed_ += pcm.size();
    log_.push_back("feed");
    co_return dp::app::SttHypothesisResult{"hello", 0, {}};
  }
  asio::awaitable<dp::app::SttHypothesisResult> end_utterance(std::chrono::milliseconds) override {
    log_.push_back("end");
    dp::app::SttHypothesisResult r{fed_ > 0 ? "hello world" : "", 0.9, {}};
    fed_ = 0;
    co_return r;
  }
  std::vector<std::string>& log_;
  std::size_t fed_ = 0;
};

struct ScriptedRecognizer final : dp::app::SpeechRecognizerPort {
  int sample_rate() const override { return 16000; }
  dp::app::SttOpen open(std::string_view, std::string_view) override {
    dp::app::SttOpen o;
    if (refuse) {
      o.error = "no speech recognizer free: all 1 decoders are in use (--stt-decoders)";
      o.pool_exhausted = true;
      return o;
    }
    o.stream = std::make_unique<ScriptedStream>(log);
    return o;
  }
  bool refuse = false;
  std::vector<std::string> log;
};

struct World {
  asio::io_context ioc;
  dp::test::FakeMedia media;
  ScriptedRecognizer stt;
  dp::app::Metrics metrics;
  dp::test::TempDir dir;
  std::vector<dp::core::stt::Result> results;
  std::vector<std::string> errors;
  TranscribeRun::Poll state;
  bool done = false;
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::optional<udp::socket> rtpe;

  World() { media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(); }

  void start(bool interim) {
    TranscribeRun::Deps deps{ioc.get_executor(), media, {}, stt, metrics.calls()};
    dp::app::TranscribeTarget target{*ng::parse_node("udp:127.0.0.1:1"), "c1", "tt", 2};
    dp::app::TranscribeSettings s;
    s.interim = interim;
    s.poll_interval = 50ms;
    TranscribeRun::OnResult on_result = [this](const dp::core::stt::Result& r) -> asio::awaitable<void> {
      results.push_back(r);
      co_return;
    };
    TranscribeRun::OnError on_error = [this](int, const std::string& e) -> asio::awaitable<void> {
      errors.push_back(e);
      co_return;
    };
    TranscribeRun::PollFn poll = [this]() -> asio::awaitable<TranscribeRun::Poll> { co_return state; };
    asio::co_spawn(ioc, TranscribeRun::run(deps, target, s, on_result, on_error, poll), [this](std::exception_ptr e) {
      CHECK(!e);
      done = true;
    });
    dp::test::pump_until(ioc, [&] { return !media.of_type<ng::SubscribeAnswer>().empty() || done; }, 2000ms);
  }
  // Sends payloads to the fork's port as rtpengine would (faster than real time), pumping the loop.
  void send(const std::vector<std::vector<std::uint8_t>>& payloads) {
    auto sdp = media.of_type<ng::SubscribeAnswer>().at(0).sdp;
    auto port = dp::core::rtp::offered_media(sdp).at(0).port;
    if (!rtpe) rtpe.emplace(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // one sender, as rtpengine
    udp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
    for (const auto& p : payloads) {
      auto d = dp::test::rtp_packet({.pt = 0, .seq = ++seq, .ts = ts}, p);
      ts += 160;
      rtpe->send_to(asio::buffer(d), to);
      dp::test::pump(ioc, 2ms);
    }
  }
  std::size_t finals() const {
    std::size_t n = 0;
    for (const auto& r : results) n += r.is_final ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("transcribe run: speech becomes an utterance, its partials and its final; silence is not fed") {
  World w;
  w.start(true);
  REQUIRE(w.media.of_type<ng::SubscribeRequest>().size() == 1);
  CHECK(w.media.of_type<ng::SubscribeRequest>()[0].from_tags == std::vector<std::string>{"tt"});
  w.send(silence(50));
  dp::test::pump(w.ioc, 200ms);
  CHECK(w.stt.log.empty());  // 1 s of silence: nothing decoded
  w.send(speech("Hello there, how are you today?", w.dir.path));
  w.send(silence(60));  // > 800 ms: the utterance ends
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.finals() == 1; }, 3000ms));
  CHECK(w.results.back().transcript == "hello world");
  CHECK(w.results.back().channel == 2);
  CHECK(w.results.back().confidence == doctest::Approx(0.9));
  CHECK(w.results.front().is_final == false);  // the interim came first, once (it did not change)
  CHECK(w.results.size() == 2);
  // the dial ends: the fork is unsubscribed and the run ends
  w.state.wanted = false;
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.done; }, 3000ms));
  CHECK(w.media.of_type<ng::Unsubscribe>().size() == 1);
  CHECK(w.errors.empty());
}

TEST_CASE("transcribe run: no decoder is an error event at once, and nothing is forked") {
  World w;
  w.stt.refuse = true;
  w.start(false);
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.done; }, 2000ms));
  REQUIRE(w.errors.size() == 1);
  CHECK(w.errors[0].find("no speech recognizer free") == 0);
  CHECK(w.media.requests.empty());
}

TEST_CASE("transcribe run: pause ends the utterance and ignores audio; resume; the dial's end flushes") {
  World w;
  w.start(false);
  REQUIRE_FALSE(w.done);
  auto words = speech("Please call me back tomorrow morning.", w.dir.path);
  w.send(words);  // no silence after it: the utterance is still open
  dp::test::pump(w.ioc, 200ms);
  CHECK(w.finals() == 0);
  w.state.paused = true;  // the pause ends it: its final goes out
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.finals() == 1; }, 2000ms));
  auto fed_before = w.stt.log.size();
  w.send(words);
  w.send(silence(60));
  dp::test::pump(w.ioc, 300ms);
  CHECK(w.stt.log.size() == fed_before);  // nothing fed while paused
  CHECK(w.finals() == 1);
  w.state.paused = false;
  dp::test::pump(w.ioc, 150ms);
  w.send(words);  // an open utterance again
  dp::test::pump(w.ioc, 200ms);
  w.state.wanted = false;  // the dial ends mid-utterance: flushed into a final
  REQUIRE(dp::test::pump_until(w.ioc, [&] { return w.done; }, 3000ms));
  CHECK(w.finals() == 2);
  CHECK(w.media.of_type<ng::Unsubscribe>().size() == 1);
}
