#include "app/session/call_watch.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

// Awaited values go into named locals before being tested (docs/coroutines.md).

namespace dp::app {

namespace asio = boost::asio;

struct CallWatch::Entry {
  explicit Entry(asio::any_io_executor ex) : done(std::move(ex)) {}
  std::optional<CallStorePort::Versioned> state;
  bool read_once = false;
  bool reading = false;
  Clock::time_point read_at{};
  Clock::time_point asked_at{};
  std::exception_ptr error;  // of the last read, for the sessions that waited on it
  asio::steady_timer done;   // cancelled when a read ends: wakes the sessions waiting on it
};

CallWatch::CallWatch(asio::any_io_executor ex, CallStorePort& calls, std::chrono::milliseconds fresh_for)
    : ex_(std::move(ex)), calls_(calls), fresh_for_(fresh_for) {}

CallWatch::~CallWatch() = default;

asio::awaitable<std::optional<CallStorePort::Versioned>> CallWatch::current(const std::string& sid) {
  auto now = Clock::now();
  forget_idle(now);
  auto& slot = entries_[sid];
  if (!slot) slot = std::make_shared<Entry>(ex_);
  auto e = slot;  // alive across the waits below even if the map forgets it meanwhile
  e->asked_at = now;
  if (e->reading) {
    boost::system::error_code ec;
    co_await e->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (e->error) std::rethrow_exception(e->error);
    co_return e->state;
  }
  if (e->read_once && now - e->read_at < fresh_for_) co_return e->state;
  e->reading = true;
  e->error = nullptr;
  e->done.expires_at(Clock::time_point::max());
  try {
    co_await read(*e, sid);
  } catch (...) {
    e->error = std::current_exception();
  }
  e->reading = false;
  e->done.cancel();
  if (e->error) std::rethrow_exception(e->error);
  co_return e->state;
}

asio::awaitable<void> CallWatch::read(Entry& e, const std::string& sid) {
  auto version = co_await calls_.version(sid);
  if (!version) {
    e.state.reset();
  } else if (!e.state || e.state->version != *version) {
    auto loaded = co_await calls_.load(sid);
    e.state = std::move(loaded);
  }
  e.read_once = true;
  e.read_at = Clock::now();
}

void CallWatch::forget_idle(Clock::time_point now) {
  if (now - swept_ < std::chrono::seconds(1)) return;
  swept_ = now;
  std::erase_if(entries_, [&](const auto& kv) {
    return !kv.second->reading && now - kv.second->asked_at > kForgetAfter;
  });
}

}  // namespace dp::app
