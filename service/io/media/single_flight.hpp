// Concurrent requests for the same key share one run of the work (one download of a URL, one rendering of a
// text). The work runs as a task of the given TaskGroup, not inside the first requester: a requester that is
// cancelled (its call hung up) stops waiting, while the work goes on for the others and still fills the cache.
// The group's owner cancels and drains it like any other task. Not thread-safe: use it on the group's executor's
// thread (dialplane runs one io_context thread).
#pragma once
#include "core/log.hpp"
#include "io/task_group.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace dp::io {

template <class T>
class SingleFlight {
  struct Flight {
    explicit Flight(const boost::asio::any_io_executor& ex) : done(ex, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer done;  // never expires: cancelled to wake the waiters
    std::optional<T> result;
    bool finished = false;
  };
  using Flights = std::map<std::string, std::shared_ptr<Flight>>;

  // Ends a flight however its task ends (result, exception, cancellation, destruction): the key is free again
  // and the waiters wake. Holds the table weakly: a frame destroyed after its owner (at io_context teardown)
  // must not touch it.
  struct Landing {
    std::weak_ptr<Flights> flights;
    std::string key;
    std::shared_ptr<Flight> flight;
    ~Landing() {
      flight->finished = true;
      if (auto f = flights.lock()) f->erase(key);
      try {
        flight->done.cancel();
      } catch (...) {  // a destructor must not throw; a timer that cannot cancel has nothing waiting
      }
    }
  };

  static boost::asio::awaitable<void> fly(std::weak_ptr<Flights> flights, std::string key,
                                          std::shared_ptr<Flight> flight, boost::asio::awaitable<T> op) {
    Landing landing{std::move(flights), std::move(key), flight};
    T result = co_await std::move(op);
    flight->result = std::move(result);
  }

 public:
  explicit SingleFlight(TaskGroup& tasks) : tasks_(tasks) {}
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;

  // The first request for `key` calls `work()` (returning awaitable<T>) at once and runs what it returns as a
  // task; every request, the first included, waits for that task and gets a copy of its result, or `abandoned`
  // when it ended without one (threw, or was cancelled). A request that is itself cancelled ends with
  // operation_aborted.
  template <class Work>
  boost::asio::awaitable<T> run(std::string key, Work work, T abandoned) {
    std::shared_ptr<Flight> flight;
    auto found = flights_->find(key);
    if (found != flights_->end()) {
      flight = found->second;
    } else {
      flight = std::make_shared<Flight>(tasks_.get_executor());
      flights_->emplace(key, flight);
      tasks_.spawn(fly(flights_, key, flight, work()), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("single_flight_failed", {{"error", ex.what()}});
        } catch (...) {
          log::error("single_flight_failed", {{"error", "unknown exception"}});
        }
      });
    }
    if (!flight->finished) {
      boost::system::error_code woken;  // operation_aborted: the flight landed, or this request was cancelled
      co_await flight->done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, woken));
    }
    if (flight->result) co_return *flight->result;
    if (!flight->finished) throw boost::system::system_error(boost::asio::error::operation_aborted);
    co_return abandoned;
  }

  // Keys being worked on right now.
  std::size_t in_flight() const { return flights_->size(); }

 private:
  TaskGroup& tasks_;
  std::shared_ptr<Flights> flights_ = std::make_shared<Flights>();
};

}  // namespace dp::io
