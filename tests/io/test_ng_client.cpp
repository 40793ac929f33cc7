// NgClient against a real rtpengine (DP_TEST_RTPENGINE_NG=host:port, started by scripts/run-tests.sh) and
// against local UDP fakes on 127.0.0.1 (a silent port, a proxy that drops, a peer that answers with a wrong
// cookie or garbage). The fakes need nothing external, so those cases always run.
#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/rtpengine/ng_client.hpp"
#include "io_test_util.hpp"

namespace asio = boost::asio;
namespace ng = dp::core::ng;
using asio::ip::udp;
using dp::io::NgClient;
using dp::io::NgResult;
using namespace std::chrono_literals;

namespace {

// The rtpengine of the test command, or nullopt (the caller then skips loudly).
std::optional<ng::Node> rtpengine_node() {
  const char* env = std::getenv("DP_TEST_RTPENGINE_NG");
  if (!env || !*env) return std::nullopt;
  auto n = ng::parse_node(std::string("udp:") + env);
  REQUIRE_MESSAGE(n, "DP_TEST_RTPENGINE_NG is not host:port: ", env);
  return n;
}

// Without the env the real-rtpengine suite is skipped (doctest counts it as skipped, not passed), and says so.
bool rtpengine_configured() {
  const char* env = std::getenv("DP_TEST_RTPENGINE_NG");
  bool set = env && *env;
  if (!set) {
    std::fprintf(stderr, "ng client: SKIPPING the real-rtpengine cases: DP_TEST_RTPENGINE_NG is not set "
                         "(scripts/run-tests.sh starts an rtpengine and sets it)\n");
  }
  return set;
}

// Inside a case, in case it runs anyway (doctest --no-skip).
#define REQUIRE_RTPENGINE(node)                                                                            \
  auto node = rtpengine_node();                                                                            \
  if (!node) {                                                                                             \
    MESSAGE("SKIPPED: DP_TEST_RTPENGINE_NG is not set (scripts/run-tests.sh starts an rtpengine and sets it)"); \
    return;                                                                                                \
  }

struct Recorder : dp::io::NgObserver {
  std::vector<std::pair<ng::Command, NgResult::Kind>> finished_requests;
  int strays = 0;
  void finished(ng::Command c, const NgResult& r) override { finished_requests.emplace_back(c, r.kind); }
  void stray_datagram() override { ++strays; }
};

NgClient::Options fast_options(Recorder* rec = nullptr) {
  NgClient::Options o;
  o.timeout = 2000ms;
  o.retransmit_after = {200ms};
  o.bind_address = "127.0.0.1";
  o.observer = rec;
  return o;
}

// A UDP peer on 127.0.0.1 that records what it receives and answers with whatever `reply` returns
// (nothing: silence). Runs on the test's io_context.
class FakePeer {
 public:
  using Reply = std::function<std::vector<std::string>(std::string_view datagram, int nth)>;
  FakePeer(asio::io_context& ioc, Reply reply) : socket_(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), reply_(std::move(reply)) {
    receive();
  }
  ng::Node node() const { return *ng::parse_node("udp:127.0.0.1:" + std::to_string(socket_.local_endpoint().port())); }
  uint16_t port() const { return socket_.local_endpoint().port(); }
  const std::vector<std::string>& received() const { return received_; }
  std::string cookie(std::size_t i) const { return std::string(ng::split_frame(received_.at(i))->cookie); }
  void send_to_last(const std::string& d) { socket_.send_to(asio::buffer(d), from_); }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buf_), from_, [this](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      received_.emplace_back(buf_.data(), n);
      if (reply_) {
        for (const auto& d : reply_(received_.back(), static_cast<int>(received_.size()))) {
          boost::system::error_code sec;
          socket_.send_to(asio::buffer(d), from_, 0, sec);
        }
      }
      receive();
    });
  }
  udp::socket socket_;
  Reply reply_;
  std::array<char, 65536> buf_{};
  udp::endpoint from_;
  std::vector<std::string> received_;
};

std::string cookie_of(std::string_view datagram) { return std::string(ng::split_frame(datagram)->cookie); }

// Forwards datagrams between the client and `upstream`, dropping the first `drop` requests.
class DroppingProxy {
 public:
  DroppingProxy(asio::io_context& ioc, udp::endpoint upstream, int drop)
      : front_(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        back_(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        upstream_(upstream),
        drop_(drop) {
    from_client();
    from_upstream();
  }
  ng::Node node() const { return *ng::parse_node("udp:127.0.0.1:" + std::to_string(front_.local_endpoint().port())); }
  const std::vector<std::string>& requests() const { return requests_; }

 private:
  void from_client() {
    front_.async_receive_from(asio::buffer(buf_), client_, [this](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      requests_.emplace_back(buf_.data(), n);
      if (static_cast<int>(requests_.size()) > drop_) back_.send_to(asio::buffer(buf_.data(), n), upstream_);
      from_client();
    });
  }
  void from_upstream() {
    back_.async_receive_from(asio::buffer(up_buf_), up_from_, [this](boost::system::error_code ec, std::size_t n) {
      if (ec) return;
      front_.send_to(asio::buffer(up_buf_.data(), n), client_);
      from_upstream();
    });
  }
  udp::socket front_, back_;
  udp::endpoint upstream_, client_, up_from_;
  int drop_;
  std::array<char, 65536> buf_{}, up_buf_{};
  std::vector<std::string> requests_;
};

asio::awaitable<NgResult> ask(NgClient& c, ng::Node node, ng::Request req) {
  NgResult r = co_await c.request(std::move(node), std::move(req));
  co_return r;
}

std::string sdp_for(uint16_t port) {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + std::to_string(port) +
         " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
}

// A 1-second 8 kHz mu-law WAV of silence, for `play media`.
std::string write_wav() {
  auto path = std::filesystem::temp_directory_path() / ("dp-ng-test-" + std::to_string(getpid()) + ".wav");
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t n = 8000;
  f << "RIFF";
  u32(36 + n);
  f << "WAVEfmt ";
  u32(16);
  u16(7);  // mu-law
  u16(1);
  u32(8000);
  u32(8000);
  u16(1);
  u16(8);
  f << "data";
  u32(n);
  f << std::string(n, '\xff');
  return path.string();
}

std::string unique(const char* what) {
  static int n = 0;
  return std::string("dp-ng-test-") + what + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

}  // namespace

TEST_SUITE("ng client: real rtpengine" * doctest::skip(!rtpengine_configured())) {
  TEST_CASE("ping is answered with pong") {
    REQUIRE_RTPENGINE(node);
    asio::io_context ioc;
    Recorder rec;
    NgClient client(ioc.get_executor(), fast_options(&rec));
    auto r = dp::test::run(ioc, ask(client, *node, ng::Ping{}));
    CHECK_MESSAGE(r.kind == NgResult::Kind::Ok, r.detail);
    CHECK(r.reply.result == ng::NgReply::Result::Pong);
    CHECK(r.sends == 1);
    CHECK(r.latency > 0ns);
    REQUIRE(rec.finished_requests.size() == 1);
    CHECK(rec.finished_requests[0] == std::make_pair(ng::Command::Ping, NgResult::Kind::Ok));
    CHECK(client.in_flight() == 0);
  }

  TEST_CASE("a call's life: offer, answer, query, subscribe, media commands, delete") {
    REQUIRE_RTPENGINE(node);
    asio::io_context ioc;
    NgClient client(ioc.get_executor(), fast_options());
    // The parties' media ports are our own sockets, so whatever rtpengine sends lands here.
    udp::socket caller(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    udp::socket callee(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::string call_id = unique("call");

    ng::Offer offer{call_id, "ft", sdp_for(caller.local_endpoint().port()), "", "caller", {}};
    offer.options.flags = {"trust address"};
    offer.options.replace = {"origin"};
    auto o = dp::test::run(ioc, ask(client, *node, offer));
    REQUIRE_MESSAGE(o.kind == NgResult::Kind::Ok, o.detail);
    REQUIRE(o.reply.sdp);
    CHECK(o.reply.sdp->find("m=audio ") != std::string::npos);
    CHECK(o.reply.sdp->find("m=audio " + std::to_string(caller.local_endpoint().port())) == std::string::npos);

    ng::Answer answer{call_id, "ft", "tt", sdp_for(callee.local_endpoint().port()), "", "callee", {}};
    auto a = dp::test::run(ioc, ask(client, *node, answer));
    REQUIRE_MESSAGE(a.kind == NgResult::Kind::Ok, a.detail);
    REQUIRE(a.reply.sdp);
    CHECK(a.reply.sdp->find("c=IN IP4 127.0.0.1") != std::string::npos);

    auto q = dp::test::run(ioc, ask(client, *node, ng::Query{call_id, "", ""}));
    REQUIRE_MESSAGE(q.kind == NgResult::Kind::Ok, q.detail);
    CHECK(q.reply.created.value_or(0) > 0);
    const ng::TagInfo* ft = q.reply.tag("ft");
    const ng::TagInfo* tt = q.reply.tag("tt");
    REQUIRE(ft);
    REQUIRE(tt);
    CHECK(ft->label == "caller");
    CHECK(tt->label == "callee");
    CHECK(ft->subscribers == std::vector<std::string>{"tt"});
    REQUIRE(!ft->medias.empty());
    CHECK(ft->medias[0].type == "audio");
    REQUIRE(!ft->medias[0].streams.empty());
    CHECK(ft->medias[0].streams[0].endpoint_port == caller.local_endpoint().port());
    CHECK(ft->medias[0].streams[0].local_port > 0);

    ng::SubscribeRequest sub{call_id, {"ft", "tt"}, "", {}};
    auto s = dp::test::run(ioc, ask(client, *node, sub));
    REQUIRE_MESSAGE(s.kind == NgResult::Kind::Ok, s.detail);
    CHECK(!s.reply.to_tag.empty());
    CHECK(s.reply.from_tags == std::vector<std::string>{"ft", "tt"});
    REQUIRE(s.reply.sdp);
    CHECK(s.reply.sdp->find("a=sendonly") != std::string::npos);
    auto u = dp::test::run(ioc, ask(client, *node, ng::Unsubscribe{call_id, s.reply.to_tag}));
    CHECK_MESSAGE(u.kind == NgResult::Kind::Ok, u.detail);

    auto wav = write_wav();
    ng::PlayMedia play{call_id, ng::Party::from_tag("ft"), wav, "", 3};
    auto p = dp::test::run(ioc, ask(client, *node, play));
    CHECK_MESSAGE(p.kind == NgResult::Kind::Ok, p.detail);
    CHECK(p.reply.duration_ms == 1000);  // one pass, not three
    auto stop = dp::test::run(ioc, ask(client, *node, ng::StopMedia{call_id, ng::Party::from_tag("ft")}));
    CHECK_MESSAGE(stop.kind == NgResult::Kind::Ok, stop.detail);
    std::filesystem::remove(wav);

    ng::PlayMedia missing{call_id, ng::Party::label("caller"), "/nonexistent/dp-test.wav", "", std::nullopt};
    auto m = dp::test::run(ioc, ask(client, *node, missing));
    CHECK(m.kind == NgResult::Kind::RtpengineError);
    CHECK(m.reply.error_reason.find("playback") != std::string::npos);

    auto b = dp::test::run(ioc, ask(client, *node, ng::BlockMedia{call_id, ng::Party::from_tag("tt"), ""}));
    CHECK_MESSAGE(b.kind == NgResult::Kind::Ok, b.detail);
    auto ub = dp::test::run(ioc, ask(client, *node, ng::UnblockMedia{call_id, ng::Party::from_tag("tt"), ""}));
    CHECK_MESSAGE(ub.kind == NgResult::Kind::Ok, ub.detail);

    // No RTP came from the callee yet, so rtpengine refuses to inject: a typed error, not a failure of ours.
    ng::PlayDtmf dtmf{call_id, ng::Party::from_tag("tt"), "5", 100, std::nullopt, std::nullopt};
    auto d = dp::test::run(ioc, ask(client, *node, dtmf));
    CHECK(d.kind == NgResult::Kind::RtpengineError);
    CHECK(d.reply.error_reason == "No SSRC context present for DTMF injection");

    auto del = dp::test::run(ioc, ask(client, *node, ng::Delete{call_id, "ft", "", "", false, 0}));
    CHECK_MESSAGE(del.kind == NgResult::Kind::Ok, del.detail);
    CHECK(del.reply.warning.empty());
    auto gone = dp::test::run(ioc, ask(client, *node, ng::Query{call_id, "", ""}));
    CHECK(gone.kind == NgResult::Kind::RtpengineError);
    CHECK(gone.reply.error_reason == "Unknown call-id");
  }

  TEST_CASE("deleting an unknown call: an error with fatal, ok with a warning without") {
    REQUIRE_RTPENGINE(node);
    asio::io_context ioc;
    Recorder rec;
    NgClient client(ioc.get_executor(), fast_options(&rec));
    const std::string call_id = unique("unknown");
    auto fatal = dp::test::run(ioc, ask(client, *node, ng::Delete{call_id, "ft", "", "", true, std::nullopt}));
    CHECK(fatal.kind == NgResult::Kind::RtpengineError);
    CHECK(fatal.reply.result == ng::NgReply::Result::Error);
    CHECK(fatal.reply.error_reason == "Call-ID not found or tags didn't match");
    CHECK(fatal.detail == fatal.reply.error_reason);
    auto lenient = dp::test::run(ioc, ask(client, *node, ng::Delete{call_id, "ft", "", "", false, std::nullopt}));
    CHECK(lenient.kind == NgResult::Kind::Ok);
    CHECK(lenient.reply.warning == "Call-ID not found or tags didn't match");
    REQUIRE(rec.finished_requests.size() == 2);
    CHECK(rec.finished_requests[0] == std::make_pair(ng::Command::Delete, NgResult::Kind::RtpengineError));
  }

  TEST_CASE("a request whose first datagram is lost succeeds on the retransmission, with the same cookie") {
    REQUIRE_RTPENGINE(node);
    asio::io_context ioc;
    udp::endpoint upstream(asio::ip::make_address(node->host), node->port);
    DroppingProxy proxy(ioc, upstream, 1);
    NgClient client(ioc.get_executor(), fast_options());
    auto r = dp::test::run(ioc, ask(client, proxy.node(), ng::Ping{}));
    CHECK_MESSAGE(r.kind == NgResult::Kind::Ok, r.detail);
    CHECK(r.sends == 2);
    CHECK(r.latency >= 200ms);
    REQUIRE(proxy.requests().size() == 2);
    CHECK(proxy.requests()[0] == proxy.requests()[1]);
  }
}

TEST_SUITE("ng client: fakes") {
  TEST_CASE("a silent node times out after retransmitting with one cookie; nothing stays in flight") {
    asio::io_context ioc;
    FakePeer silent(ioc, nullptr);
    Recorder rec;
    auto opts = fast_options(&rec);
    opts.timeout = 500ms;
    opts.retransmit_after = {100ms, 150ms};  // sends at 0, 100, 250, 400 ms
    NgClient client(ioc.get_executor(), opts);
    auto r = dp::test::run(ioc, ask(client, silent.node(), ng::Ping{}));
    CHECK(r.kind == NgResult::Kind::Timeout);
    CHECK(r.detail == "no reply within 500 ms");
    CHECK(r.latency >= 500ms);
    CHECK(r.sends == 4);
    dp::test::pump(ioc, 50ms);
    REQUIRE(silent.received().size() == 4);
    for (const auto& d : silent.received()) CHECK(d == silent.received()[0]);
    CHECK(client.in_flight() == 0);
    REQUIRE(rec.finished_requests.size() == 1);
    CHECK(rec.finished_requests[0].second == NgResult::Kind::Timeout);
  }

  TEST_CASE("without retransmissions a request is sent once") {
    asio::io_context ioc;
    FakePeer silent(ioc, nullptr);
    auto opts = fast_options();
    opts.timeout = 200ms;
    opts.retransmit_after.clear();
    NgClient client(ioc.get_executor(), opts);
    auto r = dp::test::run(ioc, ask(client, silent.node(), ng::Ping{}));
    CHECK(r.kind == NgResult::Kind::Timeout);
    CHECK(r.sends == 1);
  }

  TEST_CASE("every request gets a fresh random cookie") {
    asio::io_context ioc;
    FakePeer pong(ioc, [](std::string_view d, int) {
      return std::vector<std::string>{cookie_of(d) + " d6:result4:ponge"};
    });
    NgClient client(ioc.get_executor(), fast_options());
    for (int i = 0; i < 3; ++i) CHECK(dp::test::run(ioc, ask(client, pong.node(), ng::Ping{})).ok());
    REQUIRE(pong.received().size() == 3);
    CHECK(pong.cookie(0) != pong.cookie(1));
    CHECK(pong.cookie(1) != pong.cookie(2));
    CHECK(pong.cookie(0).starts_with("dp-"));
    CHECK(pong.cookie(0).size() == 35);
    CHECK(pong.received()[0].substr(36) == "d7:command4:pinge");
  }

  TEST_CASE("a reply with another cookie is ignored and counted as stray; the right one is taken") {
    asio::io_context ioc;
    FakePeer peer(ioc, [](std::string_view d, int) {
      auto c = cookie_of(d);
      return std::vector<std::string>{"x" + c + " d6:result5:error12:error-reason5:wronge",
                                      "garbage-without-space", c + " d6:result4:ponge"};
    });
    Recorder rec;
    NgClient client(ioc.get_executor(), fast_options(&rec));
    auto r = dp::test::run(ioc, ask(client, peer.node(), ng::Ping{}));
    CHECK_MESSAGE(r.kind == NgResult::Kind::Ok, r.detail);
    CHECK(r.reply.result == ng::NgReply::Result::Pong);
    CHECK(r.sends == 1);
    CHECK(rec.strays == 2);
  }

  TEST_CASE("a reply with our cookie that is not NG is malformed, with the reason") {
    asio::io_context ioc;
    FakePeer peer(ioc, [](std::string_view d, int) {
      return std::vector<std::string>{cookie_of(d) + " d6:result2:ok3:sdpi1ee"};
    });
    FakePeer garbage(ioc, [](std::string_view d, int) { return std::vector<std::string>{cookie_of(d) + " d6:resu"}; });
    NgClient client(ioc.get_executor(), fast_options());
    auto r = dp::test::run(ioc, ask(client, peer.node(), ng::Ping{}));
    CHECK(r.kind == NgResult::Kind::Malformed);
    CHECK(r.detail == "sdp: not a string");
    auto g = dp::test::run(ioc, ask(client, garbage.node(), ng::Ping{}));
    CHECK(g.kind == NgResult::Kind::Malformed);
    CHECK(g.detail.starts_with("bencode: "));
    CHECK(client.in_flight() == 0);
  }

  TEST_CASE("load limit is an rtpengine error with its message") {
    asio::io_context ioc;
    FakePeer peer(ioc, [](std::string_view d, int) {
      return std::vector<std::string>{cookie_of(d) + " d6:result10:load limit7:message24:CPU usage limit exceedede"};
    });
    NgClient client(ioc.get_executor(), fast_options());
    auto r = dp::test::run(ioc, ask(client, peer.node(), ng::Offer{"c", "f", "v=0\r\n", "", "", {}}));
    CHECK(r.kind == NgResult::Kind::RtpengineError);
    CHECK(r.reply.result == ng::NgReply::Result::LoadLimit);
    CHECK(r.detail == "CPU usage limit exceeded");
  }

  TEST_CASE("a cancelled await completes with Cancelled, frees its slot, and a late reply is stray") {
    asio::io_context ioc;
    FakePeer silent(ioc, nullptr);
    Recorder rec;
    auto opts = fast_options(&rec);
    opts.timeout = 10s;
    NgClient client(ioc.get_executor(), opts);
    asio::cancellation_signal signal;
    auto fut = asio::co_spawn(ioc, ask(client, silent.node(), ng::Ping{}),
                              asio::bind_cancellation_slot(signal.slot(), asio::use_future));
    REQUIRE(dp::test::pump_until(ioc, [&] { return silent.received().size() == 1; }, 2000ms));
    CHECK(client.in_flight() == 1);
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(dp::test::pump_until(ioc, [&] { return fut.wait_for(0s) == std::future_status::ready; }, 1000ms));
    auto r = fut.get();
    CHECK(r.kind == NgResult::Kind::Cancelled);
    CHECK(client.in_flight() == 0);
    // rtpengine answering after all: nobody waits for it any more.
    silent.send_to_last(silent.cookie(0) + " d6:result4:ponge");
    CHECK(dp::test::pump_until(ioc, [&] { return rec.strays == 1; }, 1000ms));
    REQUIRE(rec.finished_requests.size() == 1);
    CHECK(rec.finished_requests[0].second == NgResult::Kind::Cancelled);
  }

  TEST_CASE("losing a race in awaitable operators (a request || a timer) cancels the request") {
    asio::io_context ioc;
    FakePeer silent(ioc, nullptr);
    auto opts = fast_options();
    opts.timeout = 10s;
    NgClient client(ioc.get_executor(), opts);
    auto race = [&]() -> asio::awaitable<std::size_t> {
      using namespace asio::experimental::awaitable_operators;
      // Named operands, not temporaries, in the co_await (docs/coroutines.md).
      auto req = ask(client, silent.node(), ng::Ping{});
      auto nap = dp::test::sleep_for(100ms);
      auto both = std::move(req) || std::move(nap);
      auto winner = co_await std::move(both);
      co_return winner.index();
    };
    auto winner = dp::test::run(ioc, race());
    CHECK(winner == 1);  // the timer
    CHECK(client.in_flight() == 0);
    CHECK(silent.received().size() == 1);
  }

  TEST_CASE("requests beyond max_in_flight are refused at once, without sending") {
    asio::io_context ioc;
    FakePeer silent(ioc, nullptr);
    auto opts = fast_options();
    opts.timeout = 300ms;
    opts.max_in_flight = 2;
    NgClient client(ioc.get_executor(), opts);
    std::vector<std::future<NgResult>> futs;
    for (int i = 0; i < 3; ++i) futs.push_back(asio::co_spawn(ioc, ask(client, silent.node(), ng::Ping{}), asio::use_future));
    REQUIRE(dp::test::pump_until(ioc, [&] {
      for (auto& f : futs)
        if (f.wait_for(0s) != std::future_status::ready) return false;
      return true;
    }, 3000ms));
    int timeouts = 0, overloaded = 0;
    for (auto& f : futs) {
      auto r = f.get();
      if (r.kind == NgResult::Kind::Timeout) ++timeouts;
      if (r.kind == NgResult::Kind::Overloaded) {
        ++overloaded;
        CHECK(r.sends == 0);
      }
    }
    CHECK(timeouts == 2);
    CHECK(overloaded == 1);
    CHECK(client.in_flight() == 0);
  }

  TEST_CASE("destroying the client ends its waiting requests with Cancelled") {
    asio::io_context ioc;
    FakePeer silent(ioc, nullptr);
    auto client = std::make_unique<NgClient>(ioc.get_executor(), fast_options());
    auto fut = asio::co_spawn(ioc, ask(*client, silent.node(), ng::Ping{}), asio::use_future);
    REQUIRE(dp::test::pump_until(ioc, [&] { return silent.received().size() == 1; }, 2000ms));
    client.reset();
    REQUIRE(dp::test::pump_until(ioc, [&] { return fut.wait_for(0s) == std::future_status::ready; }, 1000ms));
    auto r = fut.get();
    CHECK(r.kind == NgResult::Kind::Cancelled);
    CHECK(r.detail == "client stopped");
  }

  TEST_CASE("a node given by name is resolved, and each request goes to the node it names") {
    asio::io_context ioc;
    FakePeer a(ioc, [](std::string_view d, int) { return std::vector<std::string>{cookie_of(d) + " d6:result4:ponge"}; });
    FakePeer b(ioc, [](std::string_view d, int) { return std::vector<std::string>{cookie_of(d) + " d6:result2:oke"}; });
    NgClient client(ioc.get_executor(), fast_options());
    auto by_name = *ng::parse_node("udp:localhost:" + std::to_string(a.port()));
    auto ra = dp::test::run(ioc, ask(client, by_name, ng::Ping{}));
    CHECK_MESSAGE(ra.kind == NgResult::Kind::Ok, ra.detail);
    auto rb = dp::test::run(ioc, ask(client, b.node(), ng::Ping{}));
    CHECK(rb.ok());
    auto ra2 = dp::test::run(ioc, ask(client, by_name, ng::Ping{}));  // from the resolve cache
    CHECK(ra2.ok());
    CHECK(a.received().size() == 2);
    CHECK(b.received().size() == 1);
    CHECK(ra.reply.result == ng::NgReply::Result::Pong);
    CHECK(rb.reply.result == ng::NgReply::Result::Ok);
  }
}
