// io_context::run() that survives a throwing handler.
#pragma once
#include <boost/asio/io_context.hpp>
#include <exception>
#include <functional>

namespace dp::io {

// Runs `ioc` until it is stopped or out of work. Asio lets an exception thrown by a handler (one inside an
// operation, e.g. a parser callback, where no coroutine can catch it) leave run(); it goes to `on_exception`
// and running resumes (Asio allows that without restart()): one failed operation must not end every call.
inline void run_contained(boost::asio::io_context& ioc, const std::function<void(std::exception_ptr)>& on_exception) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (...) {
      on_exception(std::current_exception());
    }
  }
}

}  // namespace dp::io
