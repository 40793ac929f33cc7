#include "io/rtpengine/dtmf_listener.hpp"

#include "core/log.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <array>
#include <chrono>
#include <deque>
#include <sys/socket.h>

namespace dp::io {

namespace asio = boost::asio;
using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;

struct DtmfListener::Impl {
  udp::socket socket;
  Handler handler;
  Options opts;
  std::deque<core::DtmfEvent> queue;
  asio::steady_timer wake;
  std::chrono::steady_clock::time_point last_complaint{};

  Impl(asio::any_io_executor ex, const udp::endpoint& at, Handler h, Options o)
      : socket(ex), handler(std::move(h)), opts(o), wake(ex) {
    socket.open(at.protocol());
    socket.set_option(asio::socket_base::reuse_address(true));
    socket.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    socket.bind(at);
    wake.expires_at(asio::steady_timer::time_point::max());
  }

  // One line per second at most: a misconfigured sender must not flood the log.
  void complain(const std::string& why) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_complaint < std::chrono::seconds(1)) return;
    last_complaint = now;
    log::warn("dtmf_datagram_ignored", {{"error", why}});
  }

  void accept(std::string_view datagram) {
    if (opts.observer) opts.observer->received();
    std::string err;
    auto ev = core::parse_rtpengine_dtmf(datagram, err);
    if (!ev) {
      if (opts.observer) opts.observer->malformed();
      complain(err);
      return;
    }
    if (queue.size() >= opts.max_queue) {
      if (opts.observer) opts.observer->dropped();
      complain("queue full");
      return;
    }
    queue.push_back(std::move(*ev));
    wake.cancel_one();
  }

  asio::awaitable<void> receive() {
    std::array<char, 2048> buf{};
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await socket.async_receive_from(asio::buffer(buf), from, asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        complain(ec.message());
        continue;
      }
      accept(std::string_view(buf.data(), n));
    }
  }

  asio::awaitable<void> deliver() {
    for (;;) {
      while (queue.empty()) {
        auto [ec] = co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
        (void)ec;  // woken by cancel_one(): look at the queue again
      }
      auto ev = std::move(queue.front());
      queue.pop_front();
      try {
        co_await handler(std::move(ev));
      } catch (const std::exception& e) {
        log::warn("dtmf_handler_failed", {{"error", e.what()}});
      }
    }
  }
};

DtmfListener::DtmfListener(asio::any_io_executor ex, const udp::endpoint& at, Handler handler, Options opts)
    : impl_(std::make_unique<Impl>(std::move(ex), at, std::move(handler), opts)) {}

DtmfListener::~DtmfListener() = default;

asio::awaitable<void> DtmfListener::run() { co_await (impl_->receive() && impl_->deliver()); }

udp::endpoint DtmfListener::local_endpoint() const { return impl_->socket.local_endpoint(); }

}  // namespace dp::io
