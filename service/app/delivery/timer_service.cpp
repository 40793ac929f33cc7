#include "app/delivery/timer_service.hpp"

#include "core/log.hpp"

#include <boost/asio.hpp>

namespace dp::app {

namespace asio = boost::asio;

TimerService::TimerService(asio::any_io_executor ex, io::RedisClient& redis, const std::string& prefix,
                           Metrics& metrics, Fire fire, std::chrono::milliseconds poll)
    : ex_(std::move(ex)), queue_(redis, prefix + "timers"), metrics_(metrics), fire_(std::move(fire)), poll_(poll) {}

asio::awaitable<void> TimerService::run() {
  asio::steady_timer timer(ex_);
  int ticks = 0;
  while (!stopped_) {
    timer.expires_after(poll_);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) break;
    long long now = epoch_ms();
    std::vector<LeaseQueue::Claimed> due;
    try {
      due = co_await queue_.claim_due(now, kLease, 500);
      if (++ticks % 25 == 0) {  // the gauge need not be fresher than every ~0.5 s
        auto n = co_await queue_.size();
        metrics_.pending_timers(static_cast<double>(n));
      }
    } catch (const std::exception&) {
      continue;  // Redis down: nothing can fire; try again next tick
    }
    for (auto& c : due) asio::co_spawn(ex_, fire_one(c.member, c.due_ms, now + kLease.count()), asio::detached);
  }
}

asio::awaitable<void> TimerService::fire_one(std::string id, long long due_ms, long long leased_until) {
  ++in_flight_;
  double lateness = static_cast<double>(epoch_ms() - due_ms) / 1000.0;
  auto kind = id.substr(0, id.find('|'));
  metrics_.timer_fired(kind, lateness);
  std::optional<long long> again;
  bool failed = false;
  try {
    again = co_await fire_(id);
  } catch (const std::exception& e) {
    // Leave the lease to run out: another tick (here or elsewhere) tries again.
    log::warn("timer_failed", {{"timer", id}, {"error", e.what()}});
    failed = true;
  }
  if (!failed) {
    try {
      if (again)
        co_await queue_.schedule(id, *again);
      else
        co_await queue_.complete(id, leased_until);
    } catch (const std::exception& e) {
      log::warn("timer_complete_failed", {{"timer", id}, {"error", e.what()}});
    }
  }
  --in_flight_;
}

}  // namespace dp::app
