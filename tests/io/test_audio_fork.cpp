// AudioFork against a real rtpengine (DP_TEST_RTPENGINE_NG, started by scripts/run-tests.sh): a call between two
// local UDP "endpoints" set up with NG offer/answer, the callee sending a µ-law 1 kHz tone; the fork of the
// callee's tag must deliver ~50 frames/s of that tone, and after stop() rtpengine must send nothing more to the
// fork's ports while the caller still hears the callee.
#include <doctest/doctest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../app/fakes/fake_media.hpp"
#include "../common/rtp_test_util.hpp"
#include "app/media/audio_fork.hpp"
#include "app/session/ng_media_port.hpp"
#include "core/g711.hpp"
#include "core/rtp.hpp"
#include "io/rtpengine/ng_client.hpp"
#include "io_test_util.hpp"

namespace asio = boost::asio;
namespace ng = dp::core::ng;
using asio::ip::udp;
using dp::app::AudioFork;
using dp::io::NgResult;
using namespace std::chrono_literals;

namespace {

std::optional<ng::Node> fork_rtpengine() {
  const char* env = std::getenv("DP_TEST_RTPENGINE_NG");
  if (!env || !*env) return std::nullopt;
  return ng::parse_node(std::string("udp:") + env);
}

bool fork_rtpengine_configured() {
  bool set = fork_rtpengine().has_value();
  if (!set) std::fprintf(stderr, "audio fork: SKIPPING the real-rtpengine cases: DP_TEST_RTPENGINE_NG is not set\n");
  return set;
}

// A UDP socket on 127.0.0.1 in 44000-44999 (the range these tests may bind), pid-spread.
udp::socket bind_test_socket(asio::io_context& ioc) {
  static int next = static_cast<int>(getpid() % 1000);
  udp::socket s(ioc);
  s.open(udp::v4());
  for (int i = 0; i < 1000; ++i) {
    boost::system::error_code ec;
    s.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(44000 + (next++ % 1000))), ec);
    if (!ec) return s;
  }
  throw std::runtime_error("no free UDP port in 44000-44999");
}

std::string sdp_for(uint16_t port) {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + std::to_string(port) +
         " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
}

uint16_t media_port_of(const std::string& sdp) {
  auto m = dp::core::rtp::offered_media(sdp);
  REQUIRE(!m.empty());
  return m[0].port;
}

// 160 µ-law bytes of a tone whose period divides 160 samples (1 kHz: 8, 500 Hz: 16), so every 20 ms packet
// carries the same bytes.
std::vector<uint8_t> tone_payload(double hz = 1000) {
  std::vector<uint8_t> p;
  for (std::size_t i = 0; i < 160; ++i) p.push_back(dp::test::linear_to_ulaw(dp::test::tone_sample(hz, i)));
  return p;
}

// Counts datagrams arriving on a socket.
struct Counter {
  explicit Counter(udp::socket& s) : socket(s) {}
  udp::socket& socket;
  int received = 0;
  std::array<char, 2048> buf{};
  udp::endpoint from;
  void start() {
    socket.async_receive_from(asio::buffer(buf), from, [this](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      ++received;
      start();
    });
  }
};

// The callee: one 20 ms PCMU packet every 20 ms to rtpengine, until `running` goes false.
asio::awaitable<void> send_tone(udp::socket& s, udp::endpoint to, std::shared_ptr<bool> running, double hz = 1000) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  auto payload = tone_payload(hz);
  dp::test::RtpHeader h{.pt = 0, .seq = 1000, .ts = 0, .ssrc = 0xABCD};
  auto next = std::chrono::steady_clock::now();
  while (*running) {
    auto d = dp::test::rtp_packet(h, payload);
    boost::system::error_code ec;
    s.send_to(asio::buffer(d), to, 0, ec);
    ++h.seq;
    h.ts += 160;
    next += 20ms;
    t.expires_at(next);
    co_await t.async_wait(asio::use_awaitable);
  }
}

dp::io::NgClient::Options ng_options() {
  dp::io::NgClient::Options o;
  o.timeout = 2000ms;
  o.retransmit_after = {200ms};
  o.bind_address = "127.0.0.1";
  return o;
}

std::string unique_call(const char* what) {
  static int n = 0;
  return std::string("dp-fork-test-") + what + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

bool subscribed(const NgResult& q, const std::string& from_tag, const std::string& to_tag) {
  const auto* t = q.reply.tag(from_tag);
  return t && std::find(t->subscribers.begin(), t->subscribers.end(), to_tag) != t->subscribers.end();
}

struct Sunk {
  int frames = 0;
  int wrong_size = 0;
  int wrong_stream = 0;
  int mismatched = 0;  // frames whose samples are not the tone's after one µ-law round trip
  double min_share = 1.0;
};

}  // namespace

TEST_SUITE("audio fork: real rtpengine" * doctest::skip(!fork_rtpengine_configured())) {
  TEST_CASE("the callee's audio is forked at ~50 frames/s, exactly the tone; after stop rtpengine sends nothing more") {
    auto node = fork_rtpengine();
    REQUIRE(node);
    asio::io_context ioc;
    dp::io::NgClient client(ioc.get_executor(), ng_options());
    dp::app::NgMediaPort media(client);
    udp::socket caller = bind_test_socket(ioc);
    udp::socket callee = bind_test_socket(ioc);
    const std::string call_id = unique_call("tone");
    auto ask = [&](ng::Request r) { return dp::test::run(ioc, media.request(*node, std::move(r))); };

    ng::Offer offer{call_id, "ft", sdp_for(caller.local_endpoint().port()), "", "caller", {}};
    auto o = ask(offer);
    REQUIRE_MESSAGE(o.ok(), o.detail);
    ng::Answer answer{call_id, "ft", "tt", sdp_for(callee.local_endpoint().port()), "", "callee", {}};
    auto a = ask(answer);
    REQUIRE_MESSAGE(a.ok(), a.detail);
    udp::endpoint to_rtpengine(asio::ip::make_address("127.0.0.1"), media_port_of(*o.reply.sdp));

    Counter caller_hears{caller};
    caller_hears.start();
    auto sending = std::make_shared<bool>(true);
    asio::co_spawn(ioc, send_tone(callee, to_rtpengine, sending), asio::detached);
    REQUIRE(dp::test::pump_until(ioc, [&] { return caller_hears.received > 5; }, 3000ms));

    std::vector<int16_t> expected;
    for (auto b : tone_payload()) expected.push_back(dp::core::g711::ulaw_to_linear(b));
    Sunk sunk;
    auto sink = [&](std::size_t stream, std::span<const int16_t> pcm) {
      ++sunk.frames;
      if (stream != 0) ++sunk.wrong_stream;
      if (pcm.size() != 160) {
        ++sunk.wrong_size;
        return;
      }
      if (!std::equal(pcm.begin(), pcm.end(), expected.begin())) ++sunk.mismatched;
      sunk.min_share = std::min(sunk.min_share, dp::test::goertzel_share(pcm, 1000));
    };
    dp::app::AudioForkConfig cfg;
    cfg.ng_timeout = 2000ms;
    auto fork = dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, cfg, {*node, call_id, {"tt"}}, sink));
    REQUIRE(fork);
    CHECK(fork->running());
    REQUIRE(fork->ports().size() == 1);
    CHECK(fork->ports()[0] != 0);
    auto q = ask(ng::Query{call_id, "", ""});
    CHECK(subscribed(q, "tt", fork->to_tag()));

    // Warm-up (the first packets may reach rtpengine before the subscription), then a 2 s measurement.
    REQUIRE(dp::test::pump_until(ioc, [&] { return sunk.frames > 5; }, 3000ms));
    int before = sunk.frames;
    dp::test::pump(ioc, 2000ms);
    double per_second = (sunk.frames - before) / 2.0;
    MESSAGE("forked frames/s: " << per_second << ", frames " << sunk.frames << ", mismatched " << sunk.mismatched
                                << ", min 1 kHz share " << sunk.min_share);
    CHECK(per_second >= 45);
    CHECK(per_second <= 55);
    CHECK(sunk.wrong_size == 0);
    CHECK(sunk.wrong_stream == 0);
    CHECK(sunk.mismatched == 0);
    CHECK(sunk.min_share > 0.9);
    auto stats = fork->stats();
    CHECK(stats.malformed == 0);
    CHECK(stats.dropped == 0);
    CHECK(stats.frames == static_cast<std::uint64_t>(sunk.frames));

    // stop(): unsubscribed, the sink is quiet, and rtpengine sends nothing to the fork's (re-bound) port
    // while the caller still hears the callee.
    auto port = fork->ports()[0];
    dp::test::run(ioc, fork->stop());
    CHECK(!fork->running());
    CHECK(fork->end_reason() == "stopped");
    int after_stop = sunk.frames;
    auto q2 = ask(ng::Query{call_id, "", ""});
    REQUIRE_MESSAGE(q2.ok(), q2.detail);
    CHECK(!subscribed(q2, "tt", fork->to_tag()));
    udp::socket rebound(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    Counter leftovers{rebound};
    leftovers.start();
    dp::test::pump(ioc, 100ms);  // datagrams already in flight when rtpengine unsubscribed
    leftovers.received = 0;
    int caller_before = caller_hears.received;
    dp::test::pump(ioc, 1000ms);
    MESSAGE("after stop, 1 s: fork port got " << leftovers.received << ", caller got "
                                              << caller_hears.received - caller_before);
    CHECK(leftovers.received == 0);
    CHECK(sunk.frames == after_stop);
    CHECK(caller_hears.received - caller_before >= 40);

    dp::test::run(ioc, fork->stop());  // idempotent
    *sending = false;
    auto del = ask(ng::Delete{call_id, "ft", "", "", false, 0});
    CHECK_MESSAGE(del.ok(), del.detail);
    dp::test::pump(ioc, 50ms);
  }

  TEST_CASE("both parties forked: each stream is its party's audio, indexed as the from-tags were given") {
    auto node = fork_rtpengine();
    REQUIRE(node);
    asio::io_context ioc;
    dp::io::NgClient client(ioc.get_executor(), ng_options());
    dp::app::NgMediaPort media(client);
    udp::socket caller = bind_test_socket(ioc);
    udp::socket callee = bind_test_socket(ioc);
    const std::string call_id = unique_call("both");
    auto ask = [&](ng::Request r) { return dp::test::run(ioc, media.request(*node, std::move(r))); };
    auto o = ask(ng::Offer{call_id, "ft", sdp_for(caller.local_endpoint().port()), "", "", {}});
    REQUIRE_MESSAGE(o.ok(), o.detail);
    auto a = ask(ng::Answer{call_id, "ft", "tt", sdp_for(callee.local_endpoint().port()), "", "", {}});
    REQUIRE_MESSAGE(a.ok(), a.detail);
    auto sending = std::make_shared<bool>(true);
    udp::endpoint callee_to(asio::ip::make_address("127.0.0.1"), media_port_of(*o.reply.sdp));
    udp::endpoint caller_to(asio::ip::make_address("127.0.0.1"), media_port_of(*a.reply.sdp));
    asio::co_spawn(ioc, send_tone(callee, callee_to, sending, 1000), asio::detached);
    asio::co_spawn(ioc, send_tone(caller, caller_to, sending, 500), asio::detached);

    std::array<int, 2> frames{};
    std::array<double, 2> share_1k{1, 0}, share_500{0, 1};  // min of the own tone, max of the other's
    auto sink = [&](std::size_t stream, std::span<const int16_t> pcm) {
      REQUIRE(stream < 2);
      ++frames[stream];
      double own = dp::test::goertzel_share(pcm, stream == 0 ? 1000 : 500);
      double other = dp::test::goertzel_share(pcm, stream == 0 ? 500 : 1000);
      auto& own_min = stream == 0 ? share_1k[0] : share_500[1];
      auto& other_max = stream == 0 ? share_500[0] : share_1k[1];
      own_min = std::min(own_min, own);
      other_max = std::max(other_max, other);
    };
    // The callee first: stream 0 must be the callee whatever order rtpengine puts its m-lines in.
    auto fork = dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, {}, {*node, call_id, {"tt", "ft"}}, sink));
    REQUIRE(fork->ports().size() == 2);
    REQUIRE(dp::test::pump_until(ioc, [&] { return frames[0] > 50 && frames[1] > 50; }, 4000ms));
    MESSAGE("frames callee " << frames[0] << ", caller " << frames[1] << "; 1 kHz share on the callee's stream >= "
                             << share_1k[0] << ", 500 Hz on the caller's >= " << share_500[1]);
    CHECK(share_1k[0] > 0.9);
    CHECK(share_500[0] < 0.05);
    CHECK(share_500[1] > 0.9);
    CHECK(share_1k[1] < 0.05);
    dp::test::run(ioc, fork->stop());
    *sending = false;
    ask(ng::Delete{call_id, "ft", "", "", false, 0});
    dp::test::pump(ioc, 50ms);
  }

  TEST_CASE("destroyed without stop(): the sockets close but rtpengine keeps sending (what stop() prevents)") {
    // Also shows that the re-bound port of the case above would see rtpengine's datagrams if it still sent.
    auto node = fork_rtpengine();
    REQUIRE(node);
    asio::io_context ioc;
    dp::io::NgClient client(ioc.get_executor(), ng_options());
    dp::app::NgMediaPort media(client);
    udp::socket caller = bind_test_socket(ioc);
    udp::socket callee = bind_test_socket(ioc);
    const std::string call_id = unique_call("dtor");
    auto ask = [&](ng::Request r) { return dp::test::run(ioc, media.request(*node, std::move(r))); };
    auto o = ask(ng::Offer{call_id, "ft", sdp_for(caller.local_endpoint().port()), "", "", {}});
    REQUIRE_MESSAGE(o.ok(), o.detail);
    auto a = ask(ng::Answer{call_id, "ft", "tt", sdp_for(callee.local_endpoint().port()), "", "", {}});
    REQUIRE_MESSAGE(a.ok(), a.detail);
    auto sending = std::make_shared<bool>(true);
    udp::endpoint to_rtpengine(asio::ip::make_address("127.0.0.1"), media_port_of(*o.reply.sdp));
    asio::co_spawn(ioc, send_tone(callee, to_rtpengine, sending), asio::detached);

    int frames = 0;
    auto sink = [&](std::size_t, std::span<const int16_t>) { ++frames; };
    auto fork = dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, {}, {*node, call_id, {"tt"}}, sink));
    REQUIRE(dp::test::pump_until(ioc, [&] { return frames > 5; }, 3000ms));
    auto port = fork->ports()[0];
    auto to_tag = fork->to_tag();
    fork.reset();
    dp::test::pump(ioc, 50ms);  // the fork's coroutines see their sockets closed
    udp::socket rebound(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    Counter still{rebound};
    still.start();
    dp::test::pump(ioc, 500ms);
    CHECK(still.received >= 15);
    auto u = ask(ng::Unsubscribe{call_id, to_tag});
    CHECK_MESSAGE(u.ok(), u.detail);
    *sending = false;
    ask(ng::Delete{call_id, "ft", "", "", false, 0});
    dp::test::pump(ioc, 50ms);
  }

  TEST_CASE("rtpengine's refusal (unknown call, unknown tag) is an AudioForkError with its reason") {
    auto node = fork_rtpengine();
    REQUIRE(node);
    asio::io_context ioc;
    dp::io::NgClient client(ioc.get_executor(), ng_options());
    dp::app::NgMediaPort media(client);
    auto sink = [](std::size_t, std::span<const int16_t>) {};
    dp::app::AudioForkConfig cfg;
    auto start = [&](std::string call_id, std::vector<std::string> tags) -> std::string {
      try {
        dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, cfg, {*node, call_id, tags}, sink));
      } catch (const dp::app::AudioForkError& e) {
        return e.what();
      }
      return "";
    };
    auto unknown = start(unique_call("none"), {"tt"});
    CHECK(unknown.find("subscribe request") != std::string::npos);
    CHECK(unknown.find("Unknown call-") != std::string::npos);

    udp::socket caller = bind_test_socket(ioc);
    const std::string call_id = unique_call("tag");
    auto o = dp::test::run(ioc, media.request(*node, ng::Offer{call_id, "ft", sdp_for(caller.local_endpoint().port()),
                                                               "", "", {}}));
    REQUIRE_MESSAGE(o.ok(), o.detail);
    auto bad_tag = start(call_id, {"no-such-tag"});
    MESSAGE("unknown tag: " << bad_tag);
    CHECK(!bad_tag.empty());
    CHECK(start(call_id, {}).find("at least one from-tag") != std::string::npos);
    dp::test::run(ioc, media.request(*node, ng::Delete{call_id, "ft", "", "", false, 0}));
  }
}

// The shell's own behaviour with a scripted MediaPort (no rtpengine): what it sends, how it refuses, what it
// does with the datagrams it gets (sent here straight to the fork's socket).
namespace {

const char* kOffer2 =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
    "m=audio 40002 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\na=sendonly\r\n";

NgResult subscribe_offer(std::string sdp, std::vector<std::string> from_tags) {
  NgResult r;
  r.kind = NgResult::Kind::Ok;
  r.reply.result = ng::NgReply::Result::Ok;
  r.reply.sdp = std::move(sdp);
  r.reply.to_tag = "sub-tag";
  r.reply.from_tags = std::move(from_tags);
  return r;
}

// A MediaPort that never answers (its wait is cancelled when the fork's own timeout wins).
struct SilentMedia final : dp::app::MediaPort {
  asio::awaitable<NgResult> request(const ng::Node&, ng::Request) override {
    asio::steady_timer t(co_await asio::this_coro::executor, 60s);
    co_await t.async_wait(asio::use_awaitable);
    co_return NgResult{};
  }
};

std::string start_error(asio::io_context& ioc, dp::app::MediaPort& media, dp::app::AudioForkConfig cfg,
                        std::vector<std::string> tags) {
  auto sink = [](std::size_t, std::span<const int16_t>) {};
  ng::Node node = *ng::parse_node("udp:127.0.0.1:1");
  try {
    dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, cfg, {node, "c1", std::move(tags)}, sink));
  } catch (const dp::app::AudioForkError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("audio fork: scripted rtpengine") {
  TEST_CASE("the answer: recvonly per m-line at the advertised address, each party's codec, streams by from-tag") {
    asio::io_context ioc;
    dp::test::FakeMedia media;
    // rtpengine lists the caller's m-line first although the callee was asked first
    media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(kOffer2, {"ft", "tt"});
    dp::app::AudioForkConfig cfg;
    cfg.advertise_address = "192.0.2.7";
    std::vector<std::size_t> streams;
    auto sink = [&](std::size_t s, std::span<const int16_t>) { streams.push_back(s); };
    ng::Node node = *ng::parse_node("udp:127.0.0.1:1");
    auto fork = dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, cfg, {node, "c1", {"tt", "ft"}}, sink));
    auto answers = media.of_type<ng::SubscribeAnswer>();
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].to_tag == "sub-tag");
    auto m = dp::core::rtp::offered_media(answers[0].sdp);
    REQUIRE(m.size() == 2);
    CHECK(answers[0].sdp.find("c=IN IP4 192.0.2.7\r\n") != std::string::npos);
    CHECK(m[0].payload_types == std::vector<int>{0, 101});
    CHECK(m[1].payload_types == std::vector<int>{8, 96});
    CHECK(m[0].direction == "recvonly");
    // m-line 0 carries "ft" = index 1 of the from-tags asked: its port is ports()[1]
    REQUIRE(fork->ports().size() == 2);
    CHECK(m[0].port == fork->ports()[1]);
    CHECK(m[1].port == fork->ports()[0]);

    udp::socket rtpe(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto payload = tone_payload();
    auto d = dp::test::rtp_packet({.pt = 0, .seq = 1}, payload);
    rtpe.send_to(asio::buffer(d), udp::endpoint(asio::ip::make_address("127.0.0.1"), fork->ports()[1]));
    REQUIRE(dp::test::pump_until(ioc, [&] { return !streams.empty(); }, 2000ms));
    CHECK(streams == std::vector<std::size_t>{1});

    dp::test::run(ioc, fork->stop());
    auto unsubs = media.of_type<ng::Unsubscribe>();
    REQUIRE(unsubs.size() == 1);
    CHECK(unsubs[0].call_id == "c1");
    CHECK(unsubs[0].to_tag == "sub-tag");
  }

  TEST_CASE("datagrams: duplicates, events, garbage, other senders and a full queue are counted, not delivered") {
    asio::io_context ioc;
    dp::test::FakeMedia media;
    media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(kOffer2, {"tt", "ft"});
    dp::app::AudioForkConfig cfg;
    cfg.max_queue = 2;
    int frames = 0;
    auto sink = [&](std::size_t, std::span<const int16_t> pcm) {
      CHECK(pcm.size() == 160);
      ++frames;
    };
    ng::Node node = *ng::parse_node("udp:127.0.0.1:1");
    auto fork = dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, cfg, {node, "c1", {"tt", "ft"}}, sink));
    udp::endpoint to(asio::ip::make_address("127.0.0.1"), fork->ports()[0]);
    udp::socket rtpe(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    udp::socket stranger(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto send = [&](udp::socket& s, const std::vector<uint8_t>& d) {
      s.send_to(asio::buffer(d), to);
      dp::test::pump(ioc, 30ms);
    };
    auto tone = tone_payload();
    send(rtpe, dp::test::rtp_packet({.pt = 0, .seq = 1, .ts = 0}, tone));
    send(rtpe, dp::test::rtp_packet({.pt = 0, .seq = 1, .ts = 0}, tone));                 // duplicate
    send(rtpe, dp::test::rtp_packet({.pt = 101, .seq = 2, .ts = 160}, std::vector<uint8_t>(4, 0)));  // event
    send(rtpe, std::vector<uint8_t>{1, 2, 3});                                            // not RTP
    send(stranger, dp::test::rtp_packet({.pt = 0, .seq = 3, .ts = 160}, tone));           // another sender
    std::vector<uint8_t> big;
    for (int i = 0; i < 3; ++i) big.insert(big.end(), tone.begin(), tone.end());
    send(rtpe, dp::test::rtp_packet({.pt = 0, .seq = 4, .ts = 160}, big));  // 60 ms: 3 frames, queue of 2
    auto st = fork->stats();
    CHECK(st.packets == 6);
    CHECK(st.stale == 1);
    CHECK(st.events == 1);
    CHECK(st.malformed == 2);
    CHECK(st.dropped == 1);
    CHECK(st.frames == 3);
    CHECK(frames == 3);
    dp::test::run(ioc, fork->stop());
  }

  TEST_CASE("a sink that throws is logged; the fork goes on") {
    asio::io_context ioc;
    dp::test::FakeMedia media;
    media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(kOffer2, {"tt", "ft"});
    int calls = 0;
    auto sink = [&](std::size_t, std::span<const int16_t>) {
      ++calls;
      if (calls == 1) throw std::runtime_error("sink trouble");
      throw 42;
    };
    ng::Node node = *ng::parse_node("udp:127.0.0.1:1");
    auto fork = dp::test::run(ioc, AudioFork::start(ioc.get_executor(), media, {}, {node, "c1", {"tt", "ft"}}, sink));
    udp::socket rtpe(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    udp::endpoint to(asio::ip::make_address("127.0.0.1"), fork->ports()[0]);
    auto tone = tone_payload();
    for (uint16_t seq = 1; seq <= 3; ++seq) {
      auto d = dp::test::rtp_packet({.pt = 0, .seq = seq, .ts = 160u * seq}, tone);
      rtpe.send_to(asio::buffer(d), to);
    }
    CHECK(dp::test::pump_until(ioc, [&] { return calls == 3; }, 2000ms));
    CHECK(fork->running());
    dp::test::run(ioc, fork->stop());
  }

  TEST_CASE("refusals: an error, a timeout, a refused answer, a wrong number of m-lines; each unsubscribes") {
    asio::io_context ioc;
    {
      dp::test::FakeMedia media;
      media.answer_error("Unknown call-ID");
      auto err = start_error(ioc, media, {}, {"tt"});
      CHECK(err.find("subscribe request: rtpengine_error: Unknown call-ID") != std::string::npos);
      CHECK(media.of_type<ng::Unsubscribe>().empty());  // nothing was set up
    }
    {
      SilentMedia silent;
      dp::app::AudioForkConfig cfg;
      cfg.ng_timeout = 100ms;
      auto err = start_error(ioc, silent, cfg, {"tt"});
      CHECK(err.find("subscribe request: timeout: no reply within 100 ms") != std::string::npos);
    }
    {
      dp::test::FakeMedia media;
      media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(kOffer2, {"tt", "ft"});
      media.scripted[ng::Command::SubscribeAnswer] = NgResult{};  // Timeout
      auto err = start_error(ioc, media, {}, {"tt", "ft"});
      CHECK(err.find("subscribe answer: timeout") != std::string::npos);
      REQUIRE(media.of_type<ng::Unsubscribe>().size() == 1);
      CHECK(media.of_type<ng::Unsubscribe>()[0].to_tag == "sub-tag");
    }
    {
      dp::test::FakeMedia media;
      media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(kOffer2, {"tt", "ft"});
      auto err = start_error(ioc, media, {}, {"tt"});
      CHECK(err.find("offered 2 audio streams for 1 parties") != std::string::npos);
      CHECK(media.of_type<ng::Unsubscribe>().size() == 1);
      CHECK(media.of_type<ng::SubscribeAnswer>().empty());
    }
    {
      dp::test::FakeMedia media;
      media.scripted[ng::Command::SubscribeRequest] = subscribe_offer(kOffer2, {"tt", "ft"});
      dp::app::AudioForkConfig cfg;
      cfg.bind_address = "not-an-ip";
      auto err = start_error(ioc, media, cfg, {"tt", "ft"});
      CHECK(err.find("bad bind address") != std::string::npos);
      CHECK(media.of_type<ng::Unsubscribe>().size() == 1);
    }
  }
}
