#include "core/bencode.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace dp::core::bencode {

std::optional<std::int64_t> Value::as_integer() const {
  if (auto* p = std::get_if<std::int64_t>(&v_)) return *p;
  return std::nullopt;
}
const std::string* Value::as_string() const { return std::get_if<std::string>(&v_); }
const List* Value::as_list() const { return std::get_if<List>(&v_); }
const Dict* Value::as_dict() const { return std::get_if<Dict>(&v_); }
List* Value::as_list() { return std::get_if<List>(&v_); }
Dict* Value::as_dict() { return std::get_if<Dict>(&v_); }

const Value* Value::find(std::string_view key) const {
  const Dict* d = as_dict();
  if (!d) return nullptr;
  for (const auto& [k, v] : *d)
    if (k == key) return &v;
  return nullptr;
}

Value& Value::set(std::string key, Value v) {
  if (!is_dict()) v_ = Dict{};
  Dict& d = std::get<Dict>(v_);
  for (auto& [k, old] : d) {
    if (k == key) {
      old = std::move(v);
      return old;
    }
  }
  d.emplace_back(std::move(key), std::move(v));
  return d.back().second;
}

Value& Value::push(Value v) {
  if (!is_list()) v_ = List{};
  List& l = std::get<List>(v_);
  l.push_back(std::move(v));
  return l.back();
}

namespace {

void encode_string(std::string_view s, std::string& out) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

}  // namespace

void encode_to(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Value::Kind::Integer:
      out += 'i';
      out += std::to_string(*v.as_integer());
      out += 'e';
      break;
    case Value::Kind::String:
      encode_string(*v.as_string(), out);
      break;
    case Value::Kind::List:
      out += 'l';
      for (const auto& e : *v.as_list()) encode_to(e, out);
      out += 'e';
      break;
    case Value::Kind::Dict:
      out += 'd';
      for (const auto& [k, e] : *v.as_dict()) {
        encode_string(k, out);
        encode_to(e, out);
      }
      out += 'e';
      break;
  }
}

std::string encode(const Value& v) {
  std::string out;
  encode_to(v, out);
  return out;
}

namespace {

// Recursive descent over a string_view. Every failure records the first problem and unwinds with false;
// the depth limit bounds the recursion, the input limit bounds everything else.
class Decoder {
 public:
  Decoder(std::string_view in, const Limits& limits) : in_(in), limits_(limits) {}

  // `depth`: how many lists/dicts enclose this value.
  bool value(Value& out, std::size_t depth) {
    if (pos_ >= in_.size()) return fail("unexpected end of input");
    char c = in_[pos_];
    if ((c == 'l' || c == 'd') && depth >= limits_.max_depth) return fail("nesting deeper than the limit");
    if (c == 'i') return integer(out);
    if (c >= '0' && c <= '9') {
      std::string s;
      if (!string(s)) return false;
      out = Value(std::move(s));
      return true;
    }
    if (c == 'l') return list(out, depth);
    if (c == 'd') return dict(out, depth);
    return fail("not the start of a value");
  }

  bool at_end() const { return pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }
  DecodeError& error() { return error_; }
  bool fail(const char* what) {
    error_.offset = pos_;
    error_.what = what;
    return false;
  }

 private:
  // Digits of a canonical non-negative decimal: no leading zero unless it is the only digit.
  bool digits(std::size_t& end) {
    end = pos_;
    while (end < in_.size() && in_[end] >= '0' && in_[end] <= '9') ++end;
    if (end == pos_) return fail("expected a digit");
    if (in_[pos_] == '0' && end - pos_ > 1) return fail("leading zero");
    return true;
  }

  bool integer(Value& out) {
    ++pos_;  // 'i'
    bool negative = pos_ < in_.size() && in_[pos_] == '-';
    std::size_t start = pos_;
    if (negative) ++pos_;
    std::size_t end = 0;
    if (!digits(end)) return false;
    if (negative && in_[pos_] == '0') return fail("negative zero");
    if (end >= in_.size() || in_[end] != 'e') {
      pos_ = end;
      return fail("integer not terminated by 'e'");
    }
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(in_.data() + start, in_.data() + end, n);
    if (ec != std::errc() || p != in_.data() + end) return fail("integer out of range");
    pos_ = end + 1;
    out = Value(n);
    return true;
  }

  bool string(std::string& out) {
    std::size_t end = 0;
    if (!digits(end)) return false;
    std::size_t len = 0;
    auto [p, ec] = std::from_chars(in_.data() + pos_, in_.data() + end, len);
    if (ec != std::errc() || p != in_.data() + end) return fail("string length out of range");
    if (end >= in_.size() || in_[end] != ':') {
      pos_ = end;
      return fail("string length not followed by ':'");
    }
    if (len > limits_.max_string) return fail("string longer than the limit");
    if (len > in_.size() - end - 1) return fail("string runs past the end of input");
    out.assign(in_.substr(end + 1, len));
    pos_ = end + 1 + len;
    return true;
  }

  bool list(Value& out, std::size_t depth) {
    ++pos_;  // 'l'
    List l;
    while (true) {
      if (pos_ >= in_.size()) return fail("list not terminated");
      if (in_[pos_] == 'e') break;
      Value e;
      if (!value(e, depth + 1)) return false;
      l.push_back(std::move(e));
    }
    ++pos_;
    out = Value(std::move(l));
    return true;
  }

  bool dict(Value& out, std::size_t depth) {
    std::size_t start = pos_;
    ++pos_;  // 'd'
    Dict d;
    while (true) {
      if (pos_ >= in_.size()) return fail("dictionary not terminated");
      if (in_[pos_] == 'e') break;
      if (in_[pos_] < '0' || in_[pos_] > '9') return fail("dictionary key is not a string");
      std::string k;
      if (!string(k)) return false;
      Value e;
      if (!value(e, depth + 1)) return false;
      d.emplace_back(std::move(k), std::move(e));
    }
    ++pos_;
    // Duplicate keys make "the" value of a key ambiguous. Sorting views of the keys is O(n log n), so a
    // dictionary of thousands of keys costs no more than reading it.
    std::vector<std::string_view> keys;
    keys.reserve(d.size());
    for (const auto& kv : d) keys.emplace_back(kv.first);
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      pos_ = start;
      return fail("duplicate dictionary key");
    }
    out = Value(std::move(d));
    return true;
  }

  std::string_view in_;
  const Limits& limits_;
  std::size_t pos_ = 0;
  DecodeError error_;
};

}  // namespace

Decoded decode(std::string_view in, const Limits& limits) {
  Decoded r;
  if (in.size() > limits.max_input) {
    r.error = {0, "input longer than the limit"};
    return r;
  }
  Decoder d(in, limits);
  Value v;
  if (!d.value(v, 0)) {
    r.error = std::move(d.error());
    return r;
  }
  if (!d.at_end()) {
    d.fail("data after the value");
    r.error = std::move(d.error());
    return r;
  }
  r.value = std::move(v);
  return r;
}

}  // namespace dp::core::bencode
