// Concurrent requests for the same key share one run of the work (one download of a URL, one synthesis of a
// text): the first caller runs it, the others wait for its result. Not thread-safe: use it on one executor's
// thread (dialplane runs one io_context thread).
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
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

  // Ends the first caller's flight however its coroutine ends (result, exception, cancellation, destruction):
  // the key is free again and the waiters wake. Holds the table weakly: a frame destroyed after its owner (at
  // io_context teardown) must not touch it.
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

 public:
  // The first caller for `key` runs `work()` (returning awaitable<T>); the others wait and get a copy of its
  // result, or `abandoned` when it ended without one (threw, or was cancelled). A waiter that is itself
  // cancelled ends with operation_aborted.
  template <class Work>
  boost::asio::awaitable<T> run(std::string key, Work work, T abandoned) {
    auto found = flights_->find(key);
    if (found != flights_->end()) {
      auto flight = found->second;
      boost::system::error_code woken;  // operation_aborted: the flight landed, or this waiter was cancelled
      co_await flight->done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, woken));
      if (flight->result) co_return *flight->result;
      if (!flight->finished) throw boost::system::system_error(boost::asio::error::operation_aborted);
      co_return abandoned;
    }
    auto ex = co_await boost::asio::this_coro::executor;
    auto flight = std::make_shared<Flight>(ex);
    flights_->emplace(key, flight);
    Landing landing{flights_, key, flight};
    auto op = work();
    T result = co_await std::move(op);
    flight->result = result;
    co_return result;
  }

  // Keys being worked on right now.
  std::size_t in_flight() const { return flights_->size(); }

 private:
  std::shared_ptr<Flights> flights_ = std::make_shared<Flights>();
};

}  // namespace dp::io
