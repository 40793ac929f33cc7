// Bencode (the encoding of rtpengine's NG protocol): a small typed value, an encoder, and a strict, bounded
// decoder that reports malformed input as an error, never as an exception.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dp::core::bencode {

class Value;
using List = std::vector<Value>;
// Insertion order is kept and is the encoding order: rtpengine does not need sorted keys, and a decoded
// dictionary re-encodes to the bytes it came from.
using Dict = std::vector<std::pair<std::string, Value>>;

class Value {
 public:
  enum class Kind { Integer, String, List, Dict };

  Value() : v_(std::int64_t{0}) {}
  Value(std::int64_t i) : v_(i) {}                  // NOLINT: implicit on purpose, builds read like data
  Value(int i) : v_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Value(std::string s) : v_(std::move(s)) {}        // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  Value(const char* s) : v_(std::string(s)) {}      // NOLINT
  Value(List l) : v_(std::move(l)) {}               // NOLINT
  Value(Dict d) : v_(std::move(d)) {}               // NOLINT

  static Value list() { return Value(List{}); }
  static Value dict() { return Value(Dict{}); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_integer() const { return kind() == Kind::Integer; }
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_dict() const { return kind() == Kind::Dict; }

  // nullptr / nullopt when the value is of another kind.
  std::optional<std::int64_t> as_integer() const;
  const std::string* as_string() const;
  const List* as_list() const;
  const Dict* as_dict() const;
  List* as_list();
  Dict* as_dict();

  // A dictionary's entry, nullptr when absent or when this is not a dictionary.
  const Value* find(std::string_view key) const;
  // Sets a dictionary's entry (replacing an existing one). Turns a non-dictionary into an empty one first.
  Value& set(std::string key, Value v);
  // Appends to a list. Turns a non-list into an empty one first.
  Value& push(Value v);

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::int64_t, std::string, List, Dict> v_;
};

std::string encode(const Value& v);
void encode_to(const Value& v, std::string& out);

struct Limits {
  std::size_t max_input = 65535;  // rtpengine's largest UDP message (MAX_UDP_LENGTH)
  std::size_t max_depth = 32;     // lists/dicts inside one another; bounds the recursion
  std::size_t max_string = 65535;
};

struct DecodeError {
  std::size_t offset = 0;  // where in the input the problem was found
  std::string what;
};

struct Decoded {
  std::optional<Value> value;  // set on success
  DecodeError error;           // set when value is empty
};

// Decodes exactly one value that spans the whole input. Strict: canonical integers (no leading zeros, no "-0",
// within int64), canonical string lengths, no duplicate dictionary keys, nothing after the value.
Decoded decode(std::string_view in, const Limits& limits = {});

}  // namespace dp::core::bencode
