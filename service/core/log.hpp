// Structured logging: one line per event, `ts level event key=value ...`, to stderr.
// Never pass secrets (passwords, webhook secrets, Authorization values) as fields.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace dp::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

Level level();
void set_level(Level l);
bool parse_level(std::string_view s, Level& out);

using Field = std::pair<std::string_view, std::string_view>;
void write(Level l, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view ev, std::initializer_list<Field> f = {}) {
  if (level() <= Level::Debug) write(Level::Debug, ev, f);
}
inline void info(std::string_view ev, std::initializer_list<Field> f = {}) {
  if (level() <= Level::Info) write(Level::Info, ev, f);
}
inline void warn(std::string_view ev, std::initializer_list<Field> f = {}) {
  if (level() <= Level::Warn) write(Level::Warn, ev, f);
}
inline void error(std::string_view ev, std::initializer_list<Field> f = {}) { write(Level::Error, ev, f); }

// A URL as it may be logged: scheme, host[:port] and path. Customers put tokens in query strings and
// credentials in userinfo, so both go (and the fragment).
std::string loggable_url(std::string_view url);

// At most one line per period for an event that can repeat thousands of times a second (accept failures,
// shed connections): the log stays readable and small under attack. Time is passed in; not thread-safe.
class RateLimit {
 public:
  explicit RateLimit(std::chrono::steady_clock::duration period) : period_(period) {}
  // True when a line may be written at `now`; `suppressed` is then how many calls were refused since the
  // last line.
  bool allow(std::chrono::steady_clock::time_point now, std::size_t& suppressed) {
    if (written_ && now - last_ < period_) {
      ++refused_;
      return false;
    }
    written_ = true;
    last_ = now;
    suppressed = refused_;
    refused_ = 0;
    return true;
  }

 private:
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  bool written_ = false;
  std::size_t refused_ = 0;
};

}  // namespace dp::log
