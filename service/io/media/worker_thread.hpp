// One dedicated thread for blocking work (flite synthesis, file writes), awaited from a coroutine without
// blocking its io_context: `co_await worker.run(job)` runs job() on the thread and resumes the coroutine on its
// own executor with the result (or the job's exception). The queue is bounded; a wait can have a deadline and
// can be cancelled (the job itself then still runs to its end; its result is dropped).
#pragma once
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace dp::io {

// run() refused the job: the queue is full, or the worker is stopped. Nothing ran.
class WorkerBusy : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// run()'s deadline passed before the job ended (the job still runs; its result is dropped).
class WorkerTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How run() waits (outside WorkerThread: a nested struct with member initialisers cannot be a default argument
// of its own class's members in clang).
struct WorkerRunOptions {
  bool cancellable = false;              // a cancelled waiter stops waiting (operation_aborted)
  std::chrono::milliseconds timeout{0};  // 0 = wait for the job, however long
};

namespace detail {

// One job's hand-over to the waiting coroutine: whichever comes first of the job's end, the deadline and a
// cancellation completes the wait, once. Every completion runs on the waiter's executor.
template <class R>
struct WorkerWait {
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr, R)>;

  explicit WorkerWait(const boost::asio::any_io_executor& ex) : timer(ex) {}

  void finish(std::exception_ptr e, R r, bool from_slot) {
    std::unique_lock lk(mu);
    if (!handler) return;
    auto h = std::move(*handler);
    handler.reset();
    auto w = std::move(*work);
    work.reset();
    auto s = slot;
    slot = {};
    lk.unlock();
    // The slot's own handler is running when from_slot: clearing it there would destroy it mid-call.
    if (!from_slot && s.is_connected()) s.clear();
    timer.cancel();
    boost::asio::post(w, [h = std::move(h), e, r = std::move(r)]() mutable { std::move(h)(e, std::move(r)); });
  }

  std::mutex mu;
  std::optional<Handler> handler;
  std::optional<boost::asio::any_io_executor> work;  // tracked: the waiter's io_context keeps running
  boost::asio::cancellation_slot slot;
  boost::asio::steady_timer timer;
};

}  // namespace detail

class WorkerThread {
 public:
  using RunOptions = WorkerRunOptions;

  // `max_waiting`: jobs queued or running at once; one more is refused with WorkerBusy.
  explicit WorkerThread(std::size_t max_waiting) : max_waiting_(max_waiting) {}
  ~WorkerThread() {
    pool_.stop();  // queued jobs are dropped (with their waiters' frames); the running one finishes
    pool_.join();
  }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // From now on run() refuses new jobs (shutdown); queued and running jobs go on.
  void stop() { stopped_ = true; }
  std::size_t waiting() const { return waiting_.load(); }

  // Runs job() on the thread without waiting for it (best-effort work such as a bookkeeping write); false when
  // refused (queue full, stopped).
  template <class F>
  bool try_post(F job) {
    if (stopped_ || waiting_.load() >= max_waiting_) return false;
    ++waiting_;
    boost::asio::post(pool_, [this, job = std::move(job)]() mutable {
      try {
        job();
      } catch (...) {  // best effort: nobody waits for it
      }
      --waiting_;
    });
    return true;
  }

  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&>> run(F job, RunOptions opts = {}) {
    using R = std::invoke_result_t<F&>;
    if (stopped_) throw WorkerBusy("stopped");
    if (waiting_.load() >= max_waiting_) throw WorkerBusy(std::to_string(waiting_.load()) + " jobs waiting");
    auto initiate = [this, job = std::move(job), opts](auto handler) mutable {
      start<R>(std::move(handler), std::move(job), opts);
    };
    auto op = boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr, R)>(
        std::move(initiate), boost::asio::use_awaitable);
    co_return co_await std::move(op);
  }

 private:
  template <class R, class H, class F>
  void start(H handler, F job, RunOptions opts) {
    namespace asio = boost::asio;
    ++waiting_;
    auto ex = asio::get_associated_executor(handler);
    auto wait = std::make_shared<detail::WorkerWait<R>>(ex);
    wait->work.emplace(asio::prefer(ex, asio::execution::outstanding_work.tracked));
    auto slot = asio::get_associated_cancellation_slot(handler);
    wait->handler.emplace(std::move(handler));
    std::weak_ptr<detail::WorkerWait<R>> weak = wait;
    if (opts.cancellable && slot.is_connected()) {
      wait->slot = slot;
      slot.assign([weak](asio::cancellation_type) {
        if (auto w = weak.lock())
          w->finish(std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)), R{}, true);
      });
    }
    if (opts.timeout.count() > 0) {
      wait->timer.expires_after(opts.timeout);
      wait->timer.async_wait([weak, ms = opts.timeout.count()](boost::system::error_code ec) {
        auto w = weak.lock();
        if (ec || !w) return;
        w->finish(std::make_exception_ptr(WorkerTimeout("no result after " + std::to_string(ms) + " ms")), R{}, false);
      });
    }
    asio::post(pool_, [this, wait, job = std::move(job)]() mutable {
      std::exception_ptr e;
      R r{};
      try {
        r = job();
      } catch (...) {
        e = std::current_exception();
      }
      --waiting_;
      auto back = wait->timer.get_executor();
      // The wait (and its timer) moves to the waiter's executor: this thread keeps no reference, so the timer is
      // never destroyed here, possibly after the waiter's io_context (ASan saw that in the recognizer's io test).
      asio::post(back, [wait = std::move(wait), e, r = std::move(r)]() mutable {
        wait->finish(e, std::move(r), false);
      });
    });
  }

  std::size_t max_waiting_;
  std::atomic<std::size_t> waiting_{0};
  std::atomic<bool> stopped_{false};
  boost::asio::thread_pool pool_{1};
};

}  // namespace dp::io
