// Validation of jambonz application JSON with the rules and error strings of
// @jambonz/verb-specifications 0.1.13. Pure.
#pragma once
#include <boost/json.hpp>
#include <optional>
#include <string>

namespace dp::core {

struct AppValidation {
  std::optional<std::string> error;  // jambonz's message, e.g. "dial: missing value for target"
  boost::json::array verbs;          // on success: normalised to [{"verb":"dial", ...props}, ...]
  bool ok() const { return !error; }
};

// Validates a whole app (must be an array of verbs). Aliases are normalised (stream -> listen).
AppValidation validate_app(const boost::json::value& app);

// String(v) as JavaScript prints a JSON value (numbers in JS form, arrays joined with ",",
// objects as "[object Object]"); used in jambonz messages and to stringify header values.
std::string js_to_string(const boost::json::value& v);

}  // namespace dp::core
