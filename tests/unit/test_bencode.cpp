#include "core/bencode.hpp"

#include <doctest/doctest.h>

#include <string>

namespace bc = dp::core::bencode;
using namespace std::string_literals;

namespace {

// The decode error for `in`, or "" when it decodes.
std::string error_of(std::string_view in, const bc::Limits& limits = {}) {
  auto d = bc::decode(in, limits);
  return d.value ? "" : d.error.what;
}

}  // namespace

TEST_SUITE("bencode") {
  TEST_CASE("scalars encode as the spec says") {
    CHECK(bc::encode(bc::Value(0)) == "i0e");
    CHECK(bc::encode(bc::Value(-42)) == "i-42e");
    CHECK(bc::encode(bc::Value("spam")) == "4:spam");
    CHECK(bc::encode(bc::Value("")) == "0:");
    CHECK(bc::encode(bc::Value::list()) == "le");
    CHECK(bc::encode(bc::Value::dict()) == "de");
  }

  TEST_CASE("a dictionary encodes in insertion order, and set replaces an existing key in place") {
    bc::Value d;
    d.set("command", "offer");
    d.set("call-id", "c1");
    d.set("command", "answer");
    bc::Value flags = bc::Value::list();
    flags.push("trust address");
    flags.push("inject DTMF");
    d.set("flags", flags);
    CHECK(bc::encode(d) == "d7:command6:answer7:call-id2:c15:flagsl13:trust address11:inject DTMFee");
  }

  TEST_CASE("valid input round-trips byte for byte") {
    for (std::string in : {"i0e"s, "i-1e"s, "i9223372036854775807e"s, "i-9223372036854775808e"s, "0:"s,
                           "3:a\0b"s, "le"s, "de"s, "d6:result4:ponge"s, "d1:bi1e1:ai2ee"s,
                           "l4:spaml1:ad1:xleeei7ee"s,
                           "d3:sdp7:v=0\r\n\r\n6:result2:ok4:tagsd2:ftd5:label6:callereee"s}) {
      CAPTURE(in);
      auto d = bc::decode(in);
      REQUIRE(d.value);
      CHECK(bc::encode(*d.value) == in);
    }
  }

  TEST_CASE("decoded values are typed and navigable") {
    auto d = bc::decode("d6:result2:ok8:durationi2000e4:listl1:xi-3eee");
    REQUIRE(d.value);
    const bc::Value& v = *d.value;
    CHECK(v.is_dict());
    REQUIRE(v.find("result"));
    CHECK(*v.find("result")->as_string() == "ok");
    CHECK(v.find("duration")->as_integer() == 2000);
    CHECK(v.find("missing") == nullptr);
    CHECK(v.find("result")->as_integer() == std::nullopt);  // wrong kind: nothing, not a conversion
    const bc::List* l = v.find("list")->as_list();
    REQUIRE(l);
    REQUIRE(l->size() == 2);
    CHECK(*(*l)[0].as_string() == "x");
    CHECK((*l)[1].as_integer() == -3);
    CHECK(bc::Value("x").find("result") == nullptr);  // find on a non-dictionary
  }

  TEST_CASE("big and negative integers: the int64 range exactly") {
    CHECK(bc::decode("i9223372036854775807e").value->as_integer() == INT64_MAX);
    CHECK(bc::decode("i-9223372036854775808e").value->as_integer() == INT64_MIN);
    CHECK(error_of("i9223372036854775808e") == "integer out of range");
    CHECK(error_of("i-9223372036854775809e") == "integer out of range");
    CHECK(error_of("i99999999999999999999999999e") == "integer out of range");
    CHECK(bc::encode(bc::Value(INT64_MIN)) == "i-9223372036854775808e");
  }

  TEST_CASE("non-canonical or broken integers are errors") {
    CHECK(error_of("i-0e") == "negative zero");
    CHECK(error_of("i03e") == "leading zero");
    CHECK(error_of("i-03e") == "leading zero");
    CHECK(error_of("ie") == "expected a digit");
    CHECK(error_of("i-e") == "expected a digit");
    CHECK(error_of("i+1e") == "expected a digit");
    CHECK(error_of("i1") == "integer not terminated by 'e'");
    CHECK(error_of("i1x") == "integer not terminated by 'e'");
    CHECK(error_of("i") == "expected a digit");
  }

  TEST_CASE("broken strings are errors, with the offset of the problem") {
    CHECK(error_of("5:abc") == "string runs past the end of input");
    CHECK(error_of("05:abcde") == "leading zero");
    CHECK(error_of("3abc") == "string length not followed by ':'");
    CHECK(error_of("99999999999999999999999:a") == "string length out of range");
    auto d = bc::decode("l1:a5:abce");
    REQUIRE(!d.value);
    CHECK(d.error.offset == 4);
  }

  TEST_CASE("broken containers are errors") {
    CHECK(error_of("") == "unexpected end of input");
    CHECK(error_of("l") == "list not terminated");
    CHECK(error_of("li1e") == "list not terminated");
    CHECK(error_of("d") == "dictionary not terminated");
    CHECK(error_of("d1:a") == "unexpected end of input");
    CHECK(error_of("di1ei2ee") == "dictionary key is not a string");
    CHECK(error_of("dlei1ee") == "dictionary key is not a string");
    CHECK(error_of("d1:ai1e1:ai2ee") == "duplicate dictionary key");
    CHECK(error_of("e") == "not the start of a value");
    CHECK(error_of("x") == "not the start of a value");
    CHECK(error_of("i1ei2e") == "data after the value");
    CHECK(error_of("dee") == "data after the value");
    CHECK(error_of("de ") == "data after the value");
  }

  TEST_CASE("nesting is bounded by max_depth") {
    bc::Limits limits;
    limits.max_depth = 3;
    CHECK(error_of("llleee", limits) == "");
    CHECK(error_of("lllleeee", limits) == "nesting deeper than the limit");
    CHECK(error_of("d1:ad1:bd1:cdeeee", limits) == "nesting deeper than the limit");
    CHECK(error_of("d1:ad1:bd1:ci1eeee", limits) == "");
    // The default limit holds against a deep input that would otherwise overflow the stack.
    std::string deep(100000, 'l');
    deep += std::string(100000, 'e');
    bc::Limits big_input;
    big_input.max_input = deep.size();
    CHECK(error_of(deep, big_input) == "nesting deeper than the limit");
  }

  TEST_CASE("input and string lengths are bounded") {
    bc::Limits limits;
    limits.max_input = 8;
    CHECK(error_of("4:spam", limits) == "");
    CHECK(error_of("9:123456789", limits) == "input longer than the limit");
    limits.max_input = 100;
    limits.max_string = 3;
    CHECK(error_of("3:abc", limits) == "");
    CHECK(error_of("4:abcd", limits) == "string longer than the limit");
    CHECK(error_of(std::string(65536, 'x')) == "input longer than the limit");  // the default: one UDP datagram
  }

  TEST_CASE("many keys decode quickly and duplicates are still found") {
    bc::Value d;
    for (int i = 0; i < 5000; ++i) d.set("k" + std::to_string(i), i);
    std::string in = bc::encode(d);
    bc::Limits limits;
    limits.max_input = in.size() + 16;
    auto ok = bc::decode(in, limits);
    REQUIRE(ok.value);
    CHECK(ok.value->as_dict()->size() == 5000);
    std::string dup = in.substr(0, in.size() - 1) + "5:k4999i0ee";
    CHECK(error_of(dup, limits) == "duplicate dictionary key");
  }
}
