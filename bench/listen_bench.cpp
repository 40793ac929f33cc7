// Listen streaming bench (not a CI test): N concurrent listen streams, each producing one 20 ms frame every 20 ms
// through the same path as app/session/listen_session after the audio fork (core::listen::Aligner → Encoder, a
// bounded queue, io::WsClient writes), against a local Beast websocket sink on its own thread. Reports the frame
// delay (frame produced → frame read by the sink) p50/p99/max, frames dropped, and the CPU time of the streaming
// thread per stream (the sink's thread is not counted).
//
//   cmake --build build --target listen_bench && build/listen_bench [streams=200] [seconds=20] [rate=8000] [mix=mono]
#include "core/listen.hpp"
#include "io/ws/ws_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
namespace ls = dp::core::listen;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::mutex g_mu;
std::vector<double> g_delays_ms;
std::atomic<long> g_received{0};

long long now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// The sink: reads binary frames, the first 8 bytes of each carry the producer's steady-clock time.
asio::awaitable<void> sink_conn(tcp::socket s) {
  websocket::stream<beast::tcp_stream> ws(std::move(s));
  auto [aec] = co_await ws.async_accept(kTuple);
  if (aec) co_return;
  std::vector<double> local;
  for (;;) {
    beast::flat_buffer buf;
    auto [ec, n] = co_await ws.async_read(buf, kTuple);
    if (ec) break;
    if (ws.got_text() || buf.size() < 8) continue;
    long long t0;
    std::memcpy(&t0, static_cast<const char*>(buf.data().data()), 8);
    local.push_back((now_ns() - t0) / 1e6);
    ++g_received;
  }
  std::lock_guard lk(g_mu);
  g_delays_ms.insert(g_delays_ms.end(), local.begin(), local.end());
}

asio::awaitable<void> sink_accept(tcp::acceptor& acc) {
  for (;;) {
    auto [ec, s] = co_await acc.async_accept(kTuple);
    if (ec) co_return;
    asio::co_spawn(acc.get_executor(), sink_conn(std::move(s)), asio::detached);
  }
}

struct Stream {
  std::unique_ptr<dp::io::WsClient> ws;
  ls::Aligner aligner{1};
  std::unique_ptr<ls::Encoder> enc;
  std::deque<std::string> q;
  asio::steady_timer wake;
  long dropped = 0;
  bool done = false;
  explicit Stream(asio::any_io_executor ex) : wake(ex) {}
};

asio::awaitable<void> writer(std::shared_ptr<Stream> s) {
  while (!s->done) {
    if (s->q.empty()) {
      s->wake.expires_at(Clock::time_point::max());
      co_await s->wake.async_wait(kTuple);
      continue;
    }
    std::string f = std::move(s->q.front());
    s->q.pop_front();
    bool ok = co_await s->ws->write(f, false);
    if (!ok) break;
  }
}

asio::awaitable<void> producer(std::shared_ptr<Stream> s, int seconds, int phase_us) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  auto next = Clock::now() + std::chrono::microseconds(phase_us);
  std::vector<std::int16_t> pcm(ls::kFrameSamples8k), a, b;
  long n = 0;
  auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    t.expires_at(next);
    co_await t.async_wait(kTuple);
    next += std::chrono::milliseconds(20);
    for (std::size_t i = 0; i < pcm.size(); ++i)
      pcm[i] = static_cast<std::int16_t>(6000 * std::sin(2 * M_PI * 400 * (n * 160 + i) / 8000.0));
    ++n;
    s->aligner.push(0, pcm);
    while (s->aligner.pop(a, b)) {
      auto frame = s->enc->encode(a, b, false);
      long long t0 = now_ns();
      std::memcpy(frame.data(), &t0, 8);
      if (s->q.size() >= 50) {
        s->q.pop_front();
        ++s->dropped;
      }
      s->q.push_back(std::move(frame));
      s->wake.cancel();
    }
  }
  s->done = true;
  s->wake.cancel();
  co_await s->ws->close();
}

}  // namespace

int main(int argc, char** argv) {
  int streams = argc > 1 ? std::atoi(argv[1]) : 200;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 20;
  int rate = argc > 3 ? std::atoi(argv[3]) : 8000;
  std::string mix = argc > 4 ? argv[4] : "mono";
  auto mix_of = mix == "stereo" ? ls::Mix::Stereo : mix == "mixed" ? ls::Mix::Mixed : ls::Mix::Mono;

  asio::io_context sink_ioc;
  tcp::acceptor acc(sink_ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acc.local_endpoint().port();
  asio::co_spawn(sink_ioc, sink_accept(acc), asio::detached);
  auto guard = asio::make_work_guard(sink_ioc);
  std::thread sink_thread([&] { sink_ioc.run(); });

  asio::io_context ioc;
  std::vector<std::shared_ptr<Stream>> all;
  long failed = 0;
  auto setup = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < streams; ++i) {
      dp::io::WsConnectOptions o;
      o.url = "ws://127.0.0.1:" + std::to_string(port) + "/bench";
      auto s = std::make_shared<Stream>(ioc.get_executor());
      s->enc = std::make_unique<ls::Encoder>(mix_of, rate);
      try {
        s->ws = co_await dp::io::WsClient::connect(ioc.get_executor(), o);
      } catch (const std::exception& e) {
        ++failed;
        continue;
      }
      all.push_back(s);
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
      asio::co_spawn(ioc, writer(all[i]), asio::detached);
      int phase = static_cast<int>((i * 20000) / std::max<std::size_t>(all.size(), 1));
      asio::co_spawn(ioc, producer(all[i], seconds, phase), asio::detached);
    }
  };
  asio::co_spawn(ioc, setup(), asio::detached);
  double cpu0 = thread_cpu_s();
  auto wall0 = Clock::now();
  ioc.run();
  double cpu = thread_cpu_s() - cpu0;
  double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  guard.reset();
  acc.close();
  sink_ioc.stop();
  sink_thread.join();

  long dropped = 0;
  for (auto& s : all) dropped += s->dropped;
  std::sort(g_delays_ms.begin(), g_delays_ms.end());
  auto pct = [&](double p) {
    if (g_delays_ms.empty()) return 0.0;
    return g_delays_ms[std::min(g_delays_ms.size() - 1, static_cast<std::size_t>(p * g_delays_ms.size()))];
  };
  std::printf("streams=%zu (failed %ld) seconds=%d rate=%d mix=%s\n", all.size(), failed, seconds, rate, mix.c_str());
  std::printf("frames received=%ld (expected ~%ld) dropped=%ld\n", g_received.load(),
              static_cast<long>(all.size()) * seconds * 50, dropped);
  std::printf("frame delay ms: p50=%.3f p99=%.3f max=%.3f\n", pct(0.5), pct(0.99),
              g_delays_ms.empty() ? 0.0 : g_delays_ms.back());
  std::printf("streaming thread CPU: %.2f s over %.1f s wall = %.1f%% of a core; per stream %.3f%% of a core\n", cpu,
              wall, 100 * cpu / wall, 100 * cpu / wall / std::max<std::size_t>(all.size(), 1));
  return 0;
}
