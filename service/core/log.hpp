// Structured logging: one line per event, `ts level event key=value ...`, to stderr.
// Never pass secrets (passwords, webhook secrets, Authorization values) as fields.
#pragma once
#include <atomic>
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

}  // namespace dp::log
