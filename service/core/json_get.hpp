// Lenient readers for JSON objects from our own stores and from Kamailio: a missing or mistyped field
// gives the default instead of throwing. (REST and app input is validated elsewhere, strictly.)
#pragma once
#include "core/provisioning.hpp"

#include <boost/json.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace dp::core::jget {

// Edge parse of a request body that must be one JSON object (REST bodies, Kamailio's requests); nullopt
// with `err` ("body: malformed JSON") otherwise. Nothing we accept nests deeper than the cap.
inline std::optional<boost::json::object> parse_object(std::string_view body, std::string& err) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 16;
  boost::json::value v = boost::json::parse(body, ec, {}, opt);
  if (ec) {
    err = "body: malformed JSON";
    return std::nullopt;
  }
  if (!v.is_object()) {
    err = "body: must be a JSON object";
    return std::nullopt;
  }
  return std::move(v.get_object());
}

inline std::string str(const boost::json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Integers may arrive as JSON numbers of any kind or as decimal strings (Kamailio pseudo-variables). A value
// outside long long's range gives the default (converting it would be undefined or wrap; found by fuzzing).
inline long long integer(const boost::json::object& o, std::string_view k, long long dflt = 0) {
  auto* v = o.if_contains(k);
  if (!v) return dflt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    auto u = v->get_uint64();
    return u <= static_cast<std::uint64_t>(INT64_MAX) ? static_cast<long long>(u) : dflt;
  }
  if (v->is_double()) {
    double d = v->get_double();
    // 2^63 is exact as a double; NaN fails both comparisons.
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? static_cast<long long>(d) : dflt;
  }
  if (v->is_bool()) return v->get_bool() ? 1 : 0;
  if (v->is_string()) {
    std::string s(v->get_string());
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(s.c_str(), &end, 10);
    return !s.empty() && end && *end == '\0' && errno != ERANGE ? n : dflt;
  }
  return dflt;
}

inline double number(const boost::json::object& o, std::string_view k, double dflt = 0) {
  auto* v = o.if_contains(k);
  if (!v) return dflt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_string()) return std::strtod(std::string(v->get_string()).c_str(), nullptr);
  return dflt;
}

inline bool boolean(const boost::json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return false;
  if (v->is_bool()) return v->get_bool();
  if (v->is_string()) return v->get_string() == "true" || v->get_string() == "1";
  return integer(o, k, 0) != 0;
}

// A hook object {url, method, username, password} as stored (method defaults to POST).
inline Hook hook(const boost::json::object& o) {
  Hook h;
  h.url = str(o, "url");
  h.method = str(o, "method");
  if (h.method.empty()) h.method = "POST";
  h.username = str(o, "username");
  h.password = str(o, "password");
  return h;
}

}  // namespace dp::core::jget
