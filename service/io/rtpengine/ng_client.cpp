// Everything that touches the sockets, the pending table or the resolver runs on one strand. A request is a
// Pending entry keyed by its cookie; it ends exactly once (finish): by a reply, its timer, the caller's
// cancellation or stop(), and the entry leaves the table in the same step.
#include "io/rtpengine/ng_client.hpp"

#include <array>
#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <optional>
#include <random>
#include <unordered_map>

#include "core/log.hpp"

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace dp::io {

std::string_view to_string(NgResult::Kind k) {
  switch (k) {
    case NgResult::Kind::Ok: return "ok";
    case NgResult::Kind::RtpengineError: return "rtpengine_error";
    case NgResult::Kind::Timeout: return "timeout";
    case NgResult::Kind::Malformed: return "malformed";
    case NgResult::Kind::Overloaded: return "overloaded";
    case NgResult::Kind::Unreachable: return "unreachable";
    case NgResult::Kind::Cancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

using Signature = void(NgResult);
using Handler = asio::any_completion_handler<Signature>;
using Strand = asio::strand<asio::any_io_executor>;

struct Pending {
  explicit Pending(const Strand& s) : timer(s) {}

  core::ng::Command command = core::ng::Command::Ping;
  core::ng::Node node;
  std::string cookie;
  std::string datagram;
  std::optional<udp::endpoint> endpoint;  // unset while the node's name resolves
  // optional + emplace: Asio 1.81's any_completion_handler move-assignment recurses without end.
  std::optional<Handler> handler;
  asio::any_io_executor work;  // the caller's executor, kept busy until the result is delivered
  asio::cancellation_slot slot;
  asio::steady_timer timer;  // the next retransmission or the deadline, whichever is first
  Clock::time_point started, deadline, next_send;
  std::size_t retransmits = 0;
  int sends = 0;
  std::string last_send_error;
  bool queued = false;  // in the pending table
  bool done = false;
};

// One socket and its receive loop.
struct Receiver {
  explicit Receiver(const Strand& s) : socket(s) {}
  udp::socket socket;
  std::array<char, 65536> buffer{};  // one NG datagram at most (rtpengine's MAX_UDP_LENGTH)
  udp::endpoint from;
};

}  // namespace

struct NgClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, Options o)
      : strand(asio::make_strand(ex)), opts(std::move(o)), resolver(strand), rng(std::random_device{}()) {}

  Strand strand;
  Options opts;
  std::unique_ptr<Receiver> v4, v6;  // opened at the first request of their family
  udp::resolver resolver;
  struct Resolved {
    udp::endpoint endpoint;
    Clock::time_point until;
  };
  std::unordered_map<std::string, Resolved> resolved;  // by node spec
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending;  // by cookie
  std::atomic<std::size_t> in_flight{0};
  std::mt19937_64 rng;
  bool stopped = false;

  // ---- lifecycle --------------------------------------------------------------------------------------

  void stop() {
    stopped = true;
    resolver.cancel();
    error_code ec;
    if (v4) v4->socket.close(ec);
    if (v6) v6->socket.close(ec);
    auto all = pending;  // finish() erases from the table
    for (auto& [cookie, p] : all) finish(p, NgResult::Kind::Cancelled, {}, "client stopped");
  }

  void start(const std::shared_ptr<Pending>& p) {
    if (p->done) return;  // cancelled before it started
    if (stopped) return finish(p, NgResult::Kind::Cancelled, {}, "client stopped");
    if (pending.size() >= opts.max_in_flight)
      return finish(p, NgResult::Kind::Overloaded, {}, std::to_string(pending.size()) + " requests in flight");
    do p->cookie = new_cookie();
    while (pending.count(p->cookie));
    p->datagram.insert(0, p->cookie + " ");  // the body was framed by the caller without its cookie
    p->queued = true;
    pending.emplace(p->cookie, p);
    in_flight = pending.size();
    p->started = Clock::now();
    p->deadline = p->started + opts.timeout;
    p->next_send = p->deadline;  // until the endpoint is known: only the deadline

    error_code ec;
    auto address = asio::ip::make_address(p->node.host, ec);
    if (!ec) {
      p->endpoint = udp::endpoint(address, p->node.port);
      send(p);
    } else if (auto it = resolved.find(p->node.spec); it != resolved.end() && it->second.until > Clock::now()) {
      p->endpoint = it->second.endpoint;
      send(p);
    } else {
      resolve(p);
    }
    if (!p->done) arm(p);
  }

  // Ends a request once: out of the table, timer stopped, observer told, result posted to the caller.
  void finish(const std::shared_ptr<Pending>& p, NgResult::Kind kind, core::ng::NgReply reply, std::string detail) {
    if (p->done) return;
    p->done = true;
    p->timer.cancel();
    if (p->queued) {
      pending.erase(p->cookie);
      in_flight = pending.size();
    }
    NgResult r;
    r.kind = kind;
    r.reply = std::move(reply);
    r.detail = std::move(detail);
    r.sends = p->sends;
    r.latency = p->sends ? Clock::now() - p->started : Clock::duration{};
    if (opts.observer) opts.observer->finished(p->command, r);
    if (p->slot.is_connected()) p->slot.clear();
    Handler h(std::move(*p->handler));
    p->handler.reset();
    auto w = std::move(p->work);
    asio::post(w, [h = std::move(h), r = std::move(r), w]() mutable { std::move(h)(std::move(r)); });
  }

  // ---- sending ----------------------------------------------------------------------------------------

  std::string new_cookie() {
    // 128 random bits; the "dp-" prefix can never collide with Kamailio's "<id>_<pid>_<seq>" cookies in
    // rtpengine's cookie cache.
    char buf[40];
    std::snprintf(buf, sizeof buf, "dp-%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    return buf;
  }

  Receiver* socket_for(const udp::endpoint& ep, std::string& error) {
    auto& slot = ep.address().is_v6() ? v6 : v4;
    if (slot) return slot.get();
    auto r = std::make_unique<Receiver>(strand);
    error_code ec;
    r->socket.open(ep.protocol(), ec);
    udp::endpoint local(ep.protocol(), 0);
    if (!ec && !opts.bind_address.empty()) {
      auto a = asio::ip::make_address(opts.bind_address, ec);
      if (!ec && a.is_v6() == ep.address().is_v6()) local.address(a);
    }
    if (!ec) r->socket.bind(local, ec);
    if (ec) {
      error = "cannot open the NG socket: " + ec.message();
      return nullptr;
    }
    slot = std::move(r);
    receive(*slot);
    return slot.get();
  }

  void send(const std::shared_ptr<Pending>& p) {
    std::string error;
    Receiver* r = socket_for(*p->endpoint, error);
    if (!r) return finish(p, NgResult::Kind::Unreachable, {}, std::move(error));
    ++p->sends;
    // A failed send is not final: the next retransmission tries again, and the timeout's detail says why.
    r->socket.async_send_to(asio::buffer(p->datagram), *p->endpoint, [p](error_code ec, std::size_t) {
      if (ec) p->last_send_error = ec.message();
    });
    auto now = Clock::now();
    if (opts.retransmit_after.empty()) {
      p->next_send = p->deadline;
    } else {
      auto i = std::min(p->retransmits, opts.retransmit_after.size() - 1);
      p->next_send = now + opts.retransmit_after[i];
    }
  }

  void arm(const std::shared_ptr<Pending>& p) {
    p->timer.expires_at(std::min(p->deadline, p->next_send));
    p->timer.async_wait([self = shared_from_this(), p](error_code ec) {
      if (ec || p->done) return;
      if (Clock::now() >= p->deadline || !p->endpoint) {
        std::string detail = "no reply within " + std::to_string(self->opts.timeout.count()) + " ms";
        if (!p->last_send_error.empty()) detail += " (send: " + p->last_send_error + ")";
        return self->finish(p, NgResult::Kind::Timeout, {}, std::move(detail));
      }
      ++p->retransmits;
      self->send(p);
      if (!p->done) self->arm(p);
    });
  }

  // A name is resolved off the io threads (Asio's resolver thread); the request's deadline still applies.
  void resolve(const std::shared_ptr<Pending>& p) {
    auto protocol = p->node.ipv6 ? udp::v6() : udp::v4();
    resolver.async_resolve(protocol, p->node.host, std::to_string(p->node.port),
                           [self = shared_from_this(), p](error_code ec, udp::resolver::results_type results) {
                             if (p->done) return;
                             if (ec || results.empty()) {
                               return self->finish(p, NgResult::Kind::Unreachable, {},
                                                   "cannot resolve " + p->node.host + ": " + ec.message());
                             }
                             p->endpoint = results.begin()->endpoint();
                             self->resolved[p->node.spec] = {*p->endpoint, Clock::now() + self->opts.resolve_cache};
                             self->send(p);
                             if (!p->done) self->arm(p);
                           });
  }

  // ---- receiving --------------------------------------------------------------------------------------

  void receive(Receiver& r) {
    r.socket.async_receive_from(asio::buffer(r.buffer), r.from,
                                [self = shared_from_this(), &r](error_code ec, std::size_t n) {
                                  if (self->stopped || !r.socket.is_open()) return;
                                  // Errors such as an ICMP "port unreachable" for an earlier send end
                                  // nothing: the requests wait for their own timeouts.
                                  if (!ec) self->on_datagram(std::string_view(r.buffer.data(), n));
                                  self->receive(r);
                                });
  }

  void on_datagram(std::string_view datagram) {
    auto frame = core::ng::split_frame(datagram);
    auto it = frame ? pending.find(std::string(frame->cookie)) : pending.end();
    if (it == pending.end()) {
      // A late reply to a finished request, or somebody else's datagram.
      if (opts.observer) opts.observer->stray_datagram();
      return;
    }
    auto p = it->second;
    auto parsed = core::ng::parse_reply(frame->body);
    if (!parsed.reply) return finish(p, NgResult::Kind::Malformed, {}, std::move(parsed.error));
    auto kind = parsed.reply->ok() ? NgResult::Kind::Ok : NgResult::Kind::RtpengineError;
    std::string detail = parsed.reply->ok() ? parsed.reply->warning : parsed.reply->error_reason;
    finish(p, kind, std::move(*parsed.reply), std::move(detail));
  }
};

NgClient::NgClient(asio::any_io_executor ex, Options opts) : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

NgClient::~NgClient() {
  asio::dispatch(impl_->strand, [impl = impl_] { impl->stop(); });
}

std::size_t NgClient::in_flight() const { return impl_->in_flight; }

asio::awaitable<NgResult> NgClient::request(core::ng::Node node, core::ng::Request req) {
  auto command = core::ng::command_of(req);
  // Encoded before the wait (pure); the cookie is prepended on the strand.
  std::string body = core::bencode::encode(core::ng::to_bencode(req));
  auto initiate = [impl = impl_, command, node = std::move(node), body = std::move(body)](auto handler) mutable {
    auto p = std::make_shared<Pending>(impl->strand);
    p->command = command;
    p->node = std::move(node);
    p->datagram = std::move(body);
    p->work = asio::prefer(asio::get_associated_executor(handler, impl->strand),
                           asio::execution::outstanding_work.tracked);
    auto slot = asio::get_associated_cancellation_slot(handler);
    p->handler.emplace(std::move(handler));
    if (slot.is_connected()) {
      p->slot = slot;
      // Any cancellation type ends the request: the caller no longer waits for it.
      slot.assign([weak_impl = std::weak_ptr<Impl>(impl), weak_p = std::weak_ptr<Pending>(p)](asio::cancellation_type) {
        auto self = weak_impl.lock();
        if (!self) return;
        // Posted, not dispatched: finish() clears this slot, which must not happen while it runs.
        asio::post(self->strand, [self, weak_p] {
          if (auto p = weak_p.lock()) self->finish(p, NgResult::Kind::Cancelled, {}, "cancelled by the caller");
        });
      });
    }
    asio::dispatch(impl->strand, [impl, p] { impl->start(p); });
  };
  // A named operation, not a temporary, in the co_await (docs/coroutines.md).
  auto op = asio::async_initiate<decltype(asio::use_awaitable), Signature>(std::move(initiate), asio::use_awaitable);
  NgResult result = co_await std::move(op);
  co_return result;
}

}  // namespace dp::io
