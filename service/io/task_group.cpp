#include "io/task_group.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace dp::io {

namespace asio = boost::asio;

void TaskGroup::Handle::cancel() {
  if (auto e = entry_.lock()) TaskGroup::cancel(*e);
}

void TaskGroup::cancel(Entry& e) {
  if (e.done || e.cancelled) return;
  e.cancelled = true;
  e.signal.emit(asio::cancellation_type::terminal);
}

void TaskGroup::cancel() {
  cancelled_ = true;
  // Emitting may complete a task inline, which erases it from the list: walk a copy.
  std::vector<std::shared_ptr<Entry>> all(entries_.begin(), entries_.end());
  for (auto& e : all) cancel(*e);
}

void TaskGroup::finished(Entry& e) {
  e.done = true;
  entries_.erase(e.pos);
  if (!entries_.empty()) return;
  for (auto* w : waiters_) w->cancel();
}

bool TaskGroup::is_cancellation(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    return se.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

asio::awaitable<bool> TaskGroup::wait_until(std::chrono::steady_clock::time_point deadline) {
  while (!entries_.empty()) {
    asio::steady_timer timer(ex_, deadline);
    // Registered for exactly the timer's lifetime: a cancelled waiter throws at co_await.
    struct Registration {
      std::vector<asio::steady_timer*>& list;
      asio::steady_timer* timer;
      ~Registration() { list.erase(std::find(list.begin(), list.end(), timer)); }
    };
    waiters_.push_back(&timer);
    Registration registered{waiters_, &timer};
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    // No error: the deadline passed. operation_aborted: the group emptied (loop re-checks), or this waiter
    // was cancelled itself (its next co_await throws).
    if (!ec) break;
  }
  co_return entries_.empty();
}

}  // namespace dp::io
