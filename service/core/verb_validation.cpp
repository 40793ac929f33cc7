// Mirrors validate()/normalizeJambones()/validateVerb() of jambonz-app-json-validation.js
// 0.1.13, including its JavaScript semantics (typeof, for..in key order, value-to-string in
// messages), because apps are written against jambonz and must be accepted or rejected alike.
//
// Deliberate differences (each is a place where jambonz throws a raw JS exception instead of a
// validation message; the error text there is ours):
//  - ["#type"] property given a non-array (jambonz: TypeError "dVal is not iterable", or for a
//    string it validates each character, so "" passes and "abc" gives "<type>: unknown property 0"):
//    we always say "<verb>: property <k> is not an array".
//  - a null element in the app array (jambonz: TypeError from `'verb' in null`):
//    "malformed jambonz payload: must be array of objects".
//  - a key naming an Object.prototype member such as "toString" or "__proto__" (jambonz: an
//    AssertionError from its spec lookup): "<verb>: unknown property <k>".
// The two spec entries jambonz's validator asserts on (PropKind::BadSpec) fail with the same
// text as jambonz's assertion, as an ordinary validation error.
#include "core/verb_validation.hpp"

#include "core/verb_specs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dp::core {
namespace {

namespace json = boost::json;
using Error = std::optional<std::string>;

// ---- JavaScript semantics ---------------------------------------------------------------

std::string_view js_typeof(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return "string";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    default: return "object";  // object, array and null
  }
}

// Number.prototype.toString(): shortest round-trip digits, JS rules for when to use exponents.
std::string js_number(double x) {
  if (x == 0) return "0";  // also -0
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x < 0 ? "-Infinity" : "Infinity";
  std::string sign = x < 0 ? "-" : "";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);  // d[.ddd]e±XX
  auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exp10 = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp10);
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) return sign + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return sign + "0." + std::string(-n, '0') + digits;
  std::string es = (n - 1 < 0 ? "-" : "+") + std::to_string(std::abs(n - 1));
  if (k == 1) return sign + digits + "e" + es;
  return sign + digits.substr(0, 1) + "." + digits.substr(1) + "e" + es;
}

// String(v) as JS would build it for a JSON-parsed value (template literals in messages).
std::string js_string(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::int64: return js_number(static_cast<double>(v.get_int64()));
    case json::kind::uint64: return js_number(static_cast<double>(v.get_uint64()));
    case json::kind::double_: return js_number(v.get_double());
    case json::kind::null: return "null";
    case json::kind::object: return "[object Object]";
    case json::kind::array: {
      std::string out;  // Array.prototype.join(","), null elements become ""
      bool first = true;
      for (const auto& el : v.get_array()) {
        if (!first) out += ',';
        first = false;
        if (!el.is_null()) out += js_string(el);
      }
      return out;
    }
  }
  return {};
}

// Canonical array index ("0", "17"; not "01"), which JS enumerates before other keys.
bool is_array_index(std::string_view k, std::uint64_t& out) {
  if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0')) return false;
  std::uint64_t n = 0;
  for (char c : k) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > 4294967294ULL) return false;
  out = n;
  return true;
}

// Keys in for..in order: array indices ascending, then the rest in insertion order.
std::vector<std::string> object_keys(const json::object& o) {
  std::vector<std::pair<std::uint64_t, std::string>> idx;
  std::vector<std::string> rest;
  for (const auto& kv : o) {
    std::uint64_t n;
    if (is_array_index(kv.key(), n)) idx.emplace_back(n, std::string(kv.key()));
    else rest.emplace_back(kv.key());
  }
  std::sort(idx.begin(), idx.end());
  std::vector<std::string> keys;
  for (auto& p : idx) keys.push_back(std::move(p.second));
  for (auto& k : rest) keys.push_back(std::move(k));
  return keys;
}

std::size_t utf16_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // a lead byte starts a code point
    if ((c & 0xF8) == 0xF0) ++n;  // 4-byte sequences are surrogate pairs in JS
  }
  return n;
}

// for (k in data): objects give their keys; strings and arrays their indices; others nothing.
std::vector<std::string> for_in_keys(const json::value& data) {
  std::vector<std::string> keys;
  std::size_t count = 0;
  if (data.is_object()) return object_keys(data.get_object());
  if (data.is_array()) count = data.get_array().size();
  if (data.is_string()) count = utf16_length(data.get_string());
  for (std::size_t i = 0; i < count; ++i) keys.push_back(std::to_string(i));
  return keys;
}

// The value behind a for..in key (strings: the key is always rejected, so any value will do).
const json::value& value_at(const json::value& data, const std::string& key) {
  static const json::value none;
  if (data.is_object()) return data.get_object().at(key);
  if (data.is_array()) return data.get_array().at(std::stoul(key));
  return none;
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    auto p = s.find(',');
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

// ---- validateVerb -----------------------------------------------------------------------

Error validate_type(std::string_view name, const json::value& data);

Error check_union(std::string_view verb, std::string_view key, const PropSpec& spec, const json::value& v) {
  auto types = split_commas(spec.arg);
  auto has = [&](std::string_view t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  if (has(js_typeof(v)) || (has("array") && v.is_array())) return std::nullopt;
  return std::string(verb) + ": property " + std::string(key) + " has invalid data type, must be one of " +
         std::string(spec.arg);
}

Error check_enum(const PropSpec& spec, const json::value& v) {
  if (v.is_string()) {
    for (auto allowed : split_commas(spec.arg))
      if (v.get_string() == allowed) return std::nullopt;
  }
  return "invalid value " + js_string(v) + " must be one of " + std::string(spec.arg);
}

Error check_ref_array(std::string_view verb, std::string_view key, const PropSpec& spec, const json::value& v) {
  if (!v.is_array()) return std::string(verb) + ": property " + std::string(key) + " is not an array";
  for (const auto& item : v.get_array())
    if (auto err = validate_type(spec.arg, item)) return err;
  return std::nullopt;
}

Error check_property(std::string_view verb, std::string_view key, const PropSpec& spec, const json::value& v) {
  switch (spec.kind) {
    case PropKind::Array:
      if (v.is_array()) return std::nullopt;
      return std::string(verb) + ": property " + std::string(key) + " is not an array";
    case PropKind::Type:
      if (js_typeof(v) == spec.arg) return std::nullopt;
      return std::string(verb) + ": property " + std::string(key) + " has invalid data type";
    case PropKind::Union: return check_union(verb, key, spec, v);
    case PropKind::Enum: return check_enum(spec, v);
    case PropKind::Ref: return validate_type(spec.arg, v);
    case PropKind::RefArray: return check_ref_array(verb, key, spec, v);
    case PropKind::BadSpec: return std::string(spec.arg);
  }
  return std::nullopt;
}

std::string join_commas(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

Error validate_type(std::string_view name, const json::value& data) {
  const TypeSpec* spec = find_type_spec(name);
  if (!spec) return "invalid instruction: " + std::string(name);
  std::vector<std::string_view> required(spec->required.begin(), spec->required.end());
  for (const auto& key : for_in_keys(data)) {
    if (const PropSpec* prop = spec->find(key)) {
      if (auto err = check_property(name, key, *prop, value_at(data, key))) return err;
      std::erase(required, std::string_view(key));
    } else if (key != "_") {
      return std::string(name) + ": unknown property " + key;  // "_" carries internal data
    }
  }
  if (!required.empty()) return std::string(name) + ": missing value for " + join_commas(required);
  return std::nullopt;
}

// ---- normalizeJambones ------------------------------------------------------------------

struct Task {
  std::string name;
  json::value data;
};

// Aliases; some inject properties (placed first, overridden by the app's own values).
struct Alias {
  std::string_view from, to, vendor;
};
constexpr Alias kAliases[] = {
    {"stream", "listen", ""},           {"s2s", "llm", ""},
    {"openai_s2s", "llm", "openai"},    {"microsoft_s2s", "llm", "microsoft"},
    {"google_s2s", "llm", "google"},    {"elevenlabs_s2s", "llm", "elevenlabs"},
    {"deepgram_s2s", "llm", "deepgram"}, {"voiceagent_s2s", "llm", "voiceagent"},
    {"ultravox_s2s", "llm", "ultravox"},
};

Task apply_alias(std::string name, json::value data) {
  for (const auto& a : kAliases) {
    if (a.from != name) continue;
    if (a.vendor.empty()) return {std::string(a.to), std::move(data)};
    // JS spreads the data into a new object: strings and arrays contribute their indices.
    json::object merged;
    merged["vendor"] = a.vendor;
    if (data.is_object()) {
      for (const auto& kv : data.get_object()) merged[kv.key()] = kv.value();
    } else {
      std::size_t i = 0;
      for (const auto& key : for_in_keys(data)) merged[key] = data.is_array() ? data.get_array()[i++] : json::value();
    }
    return {std::string(a.to), std::move(merged)};
  }
  return {std::move(name), std::move(data)};
}

// One element of the app array -> {name, data}, or a jambonz "malformed" error.
std::variant<Task, std::string> normalize_element(const json::value& el) {
  if (!el.is_object() && !el.is_array())  // null: jambonz throws a TypeError here (see top)
    return std::string("malformed jambonz payload: must be array of objects");
  if (el.is_array()) {  // JS treats an array as an object with index keys
    const auto& arr = el.get_array();
    if (arr.size() != 1) return std::string("malformed jambonz payload: missing verb property");
    return apply_alias("0", arr[0]);
  }
  const auto& obj = el.get_object();
  if (auto it = obj.find("verb"); it != obj.end()) {
    json::object props;
    for (const auto& kv : obj)
      if (kv.key() != "verb") props[kv.key()] = kv.value();
    // jambonz uses a non-string name as an object key, i.e. String(name), without aliasing:
    // {"verb":["say"]} is a say, {"verb":5} is "invalid instruction: 5".
    if (!it->value().is_string()) return Task{js_string(it->value()), std::move(props)};
    return apply_alias(std::string(it->value().get_string()), std::move(props));
  }
  if (obj.size() == 1) return apply_alias(std::string(obj.begin()->key()), obj.begin()->value());
  return std::string("malformed jambonz payload: missing verb property");
}

json::object normalized_verb(const Task& t) {
  json::object out;
  out["verb"] = t.name;
  if (t.data.is_object())
    for (const auto& kv : t.data.get_object()) out[kv.key()] = kv.value();
  return out;
}

}  // namespace

std::string js_to_string(const json::value& v) { return js_string(v); }

AppValidation validate_app(const json::value& app) {
  AppValidation result;
  if (!app.is_array()) {
    result.error = "malformed jambonz payload: must be array";
    return result;
  }
  // jambonz normalises the whole array before validating any verb, so shape errors come first.
  std::vector<Task> tasks;
  for (const auto& el : app.get_array()) {
    auto n = normalize_element(el);
    if (auto* err = std::get_if<std::string>(&n)) {
      result.error = *err;
      return result;
    }
    tasks.push_back(std::move(std::get<Task>(n)));
  }
  for (const auto& t : tasks) {
    if (auto err = validate_type(t.name, t.data)) {
      result.error = std::move(err);
      result.verbs.clear();
      return result;
    }
    result.verbs.push_back(normalized_verb(t));
  }
  return result;
}

}  // namespace dp::core
