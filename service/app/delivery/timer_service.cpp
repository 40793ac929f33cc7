#include "app/delivery/timer_service.hpp"

#include "core/log.hpp"
#include "io/clock.hpp"

#include <boost/asio.hpp>

namespace dp::app {

namespace asio = boost::asio;

TimerService::TimerService(io::TaskGroup& tasks, io::RedisClient& redis, const Keys& keys, TimerStats& metrics, Fire fire,
                           std::chrono::milliseconds poll)
    : tasks_(tasks), queue_(redis, keys.timers()), metrics_(metrics), fire_(std::move(fire)), poll_(poll) {}

// Cancellation ends the loop at its next co_await (the wait between polls, normally). The claimed timers are
// handed to their tasks before any further co_await, so a cancel during a claim does not strand them.
asio::awaitable<void> TimerService::run() {
  asio::steady_timer timer(tasks_.get_executor());
  int ticks = 0;
  for (;;) {
    timer.expires_after(poll_);
    co_await timer.async_wait(asio::use_awaitable);
    long long now = io::epoch_ms();
    std::vector<LeaseQueue::Claimed> due;
    try {
      due = co_await queue_.claim_due(now, kLease, 500);
    } catch (const std::exception&) {
      continue;  // Redis down: nothing can fire; try again next tick
    }
    for (auto& c : due)
      tasks_.spawn(fire_one(c.member, c.due_ms, now + kLease.count()), [id = c.member](std::exception_ptr e) {
        if (e) log::warn("timer_task_failed", {{"timer", id}});
      });
    if (++ticks % 25 == 0) {  // the gauge need not be fresher than every ~0.5 s
      try {
        auto n = co_await queue_.size();
        metrics_.pending_timers(static_cast<double>(n));
      } catch (const std::exception&) {
        // a cancellation here ends the loop at its next wait
      }
    }
  }
}

asio::awaitable<void> TimerService::fire_one(std::string id, long long due_ms, long long leased_until) {
  double lateness = static_cast<double>(io::epoch_ms() - due_ms) / 1000.0;
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
}

}  // namespace dp::app
