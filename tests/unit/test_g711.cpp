#include "core/g711.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using namespace dp::core;

TEST_SUITE("g711") {
  TEST_CASE("known µ-law and A-law values") {
    CHECK(g711::ulaw_to_linear(0xFF) == 0);
    CHECK(g711::ulaw_to_linear(0x7F) == 0);
    CHECK(g711::ulaw_to_linear(0x80) == 32124);
    CHECK(g711::ulaw_to_linear(0x00) == -32124);
    CHECK(g711::ulaw_to_linear(0xFE) == 8);
    CHECK(g711::ulaw_to_linear(0x7E) == -8);
    CHECK(g711::alaw_to_linear(0xD5) == 8);
    CHECK(g711::alaw_to_linear(0x55) == -8);
    CHECK(g711::alaw_to_linear(0xAA) == 32256);
    CHECK(g711::alaw_to_linear(0x2A) == -32256);
    CHECK(g711::linear_to_ulaw(0) == 0xFF);
    CHECK(g711::linear_to_ulaw(32767) == 0x80);
    CHECK(g711::linear_to_ulaw(-32768) == 0x00);
    CHECK(g711::linear_to_alaw(0) == 0xD5);
    CHECK(g711::linear_to_alaw(32767) == 0xAA);
    CHECK(g711::linear_to_alaw(-32768) == 0x2A);
  }

  TEST_CASE("every code survives decode then encode") {
    for (int c = 0; c < 256; ++c) {
      const auto code = static_cast<std::uint8_t>(c);
      // 0x7F is µ-law's negative zero: it decodes to 0, which encodes as positive zero.
      const std::uint8_t ulaw_expected = c == 0x7F ? 0xFF : code;
      CHECK(g711::linear_to_ulaw(g711::ulaw_to_linear(code)) == ulaw_expected);
      CHECK(g711::linear_to_alaw(g711::alaw_to_linear(code)) == code);
    }
  }

  TEST_CASE("encoding is monotonic and the error stays within half a step") {
    int prev_u = -40000;
    int prev_a = -40000;
    for (int s = -32768; s <= 32767; s += 7) {
      const auto x = static_cast<std::int16_t>(s);
      const int u = g711::ulaw_to_linear(g711::linear_to_ulaw(x));
      const int a = g711::alaw_to_linear(g711::linear_to_alaw(x));
      CHECK(u >= prev_u);
      CHECK(a >= prev_a);
      prev_u = u;
      prev_a = a;
      // Relative error of a logarithmic code: within ~1/16 of the magnitude, or a small absolute step near zero.
      CHECK(std::abs(u - s) <= std::max(16, std::abs(s) / 16 + 8));
      CHECK(std::abs(a - s) <= std::max(16, std::abs(s) / 16 + 16));
    }
  }

  TEST_CASE("decode appends by payload type and ignores others") {
    std::vector<std::int16_t> out{42};
    const std::uint8_t payload[] = {0xFF, 0x80, 0x00};
    g711::decode(payload, 0, out);
    REQUIRE(out.size() == 4);
    CHECK(out[0] == 42);
    CHECK(out[1] == 0);
    CHECK(out[2] == 32124);
    CHECK(out[3] == -32124);
    g711::decode(payload, 8, out);
    CHECK(out.size() == 7);
    CHECK(out[4] == g711::alaw_to_linear(0xFF));
    g711::decode(payload, 9, out);
    CHECK(out.size() == 7);
  }
}
