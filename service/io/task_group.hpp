// Owns long-lived coroutines (accept loops, connections, poll loops, deliveries, later media sessions and
// websockets) so they can be cancelled and waited for, instead of being spawned detached and stopped by flags.
// The shape follows Beast's advanced_server_flex_awaitable example: one cancellation signal per task.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <list>
#include <memory>
#include <utility>
#include <vector>

namespace dp::io {

// Not thread-safe: use it on its executor's thread (dialplane runs one io_context thread).
class TaskGroup {
  struct Entry {
    boost::asio::cancellation_signal signal;
    std::list<std::shared_ptr<Entry>>::iterator pos;
    bool cancelled = false;
    bool done = false;
  };

 public:
  // Cancels one task of the group (e.g. a poll loop that must stop before the rest).
  class Handle {
   public:
    Handle() = default;
    void cancel();

   private:
    friend class TaskGroup;
    explicit Handle(std::weak_ptr<Entry> e) : entry_(std::move(e)) {}
    std::weak_ptr<Entry> entry_;
  };

  explicit TaskGroup(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `task` in the group. `on_exit(std::exception_ptr)` runs when it ends; the exception is null when it
  // returned, or when it was cancelled and ended with operation_aborted (cancellation is not a failure).
  // A task spawned after cancel() starts cancelled: its first co_await throws.
  template <class OnExit>
  Handle spawn(boost::asio::awaitable<void> task, OnExit on_exit) {
    auto entry = std::make_shared<Entry>();
    entry->pos = entries_.insert(entries_.end(), entry);
    // The handler keeps the entry (and so the signal the coroutine's cancellation state lives in) alive
    // until the coroutine frame is gone, even when the io_context is destroyed with the task pending.
    auto done = [this, entry, on_exit = std::move(on_exit)](std::exception_ptr e) mutable {
      if (e && entry->cancelled && is_cancellation(e)) e = nullptr;
      finished(*entry);
      on_exit(e);
    };
    boost::asio::co_spawn(ex_, std::move(task),
                          boost::asio::bind_cancellation_slot(entry->signal.slot(), std::move(done)));
    if (cancelled_) cancel(*entry);
    return Handle(entry);
  }

  // Terminal cancellation for every task, and for every task spawned from now on. Each task's current (or
  // next) co_await ends with operation_aborted.
  void cancel();
  bool cancelled() const { return cancelled_; }
  std::size_t size() const { return entries_.size(); }

  // Waits until every task has ended or `deadline` passes; true when the group is empty.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

  boost::asio::any_io_executor get_executor() const { return ex_; }

  static bool is_cancellation(const std::exception_ptr& e);

 private:
  static void cancel(Entry& e);
  void finished(Entry& e);

  boost::asio::any_io_executor ex_;
  std::list<std::shared_ptr<Entry>> entries_;
  std::vector<boost::asio::steady_timer*> waiters_;  // wait_until() calls, woken when the group empties
  bool cancelled_ = false;
};

}  // namespace dp::io
