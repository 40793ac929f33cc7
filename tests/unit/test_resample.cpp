#include "core/resample.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

using dp::core::Upsampler;

namespace {

std::vector<std::int16_t> sine(double hz, int rate, int n, double amp = 10000) {
  std::vector<std::int16_t> v;
  for (int i = 0; i < n; ++i)
    v.push_back(static_cast<std::int16_t>(std::lround(amp * std::sin(2 * std::numbers::pi * hz * i / rate))));
  return v;
}

// Power of `hz` in `x` (sampled at `rate`), Goertzel.
double power(const std::vector<std::int16_t>& x, double hz, int rate) {
  double w = 2 * std::numbers::pi * hz / rate, c = 2 * std::cos(w), s1 = 0, s2 = 0;
  for (auto v : x) {
    double s0 = v + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

std::vector<std::int16_t> up(int factor, const std::vector<std::int16_t>& in, std::size_t chunk) {
  Upsampler u(factor);
  std::vector<std::int16_t> out;
  for (std::size_t i = 0; i < in.size(); i += chunk)
    u.process(std::span(in).subspan(i, std::min(chunk, in.size() - i)), out);
  return out;
}

}  // namespace

TEST_CASE("upsampler: factors 1..8, L samples out per sample in; others refused") {
  CHECK_THROWS_AS(Upsampler(0), std::invalid_argument);
  CHECK_THROWS_AS(Upsampler(9), std::invalid_argument);
  auto in = sine(440, 8000, 160);
  for (int f = 1; f <= 8; ++f) CHECK(up(f, in, 160).size() == 160u * f);
  CHECK(up(1, in, 160) == in);
  CHECK(dp::core::upsample_factor_from_8k(8000) == 1);
  CHECK(dp::core::upsample_factor_from_8k(16000) == 2);
  CHECK(dp::core::upsample_factor_from_8k(64000) == 8);
  CHECK(dp::core::upsample_factor_from_8k(44100) == 0);
  CHECK(dp::core::upsample_factor_from_8k(72000) == 0);
  CHECK(dp::core::upsample_factor_from_8k(-8000) == 0);
}

TEST_CASE("upsampler: a constant stays that constant once the filter has filled") {
  std::vector<std::int16_t> dc(400, 1234);
  for (int f : {2, 3, 6, 8}) {
    auto out = up(f, dc, 160);
    for (std::size_t i = static_cast<std::size_t>(f * Upsampler::kTapsPerPhase); i < out.size(); ++i)
      REQUIRE(std::abs(out[i] - 1234) <= 1);
  }
}

TEST_CASE("upsampler: a 1 kHz tone keeps its pitch and level; its images are 50 dB down") {
  auto in = sine(1000, 8000, 1600);
  for (int f : {2, 3, 6, 8}) {
    int rate = 8000 * f;
    auto out = up(f, in, 160);
    std::vector<std::int16_t> settled(out.begin() + rate / 100, out.end());  // skip 10 ms
    double tone = power(settled, 1000, rate);
    double ref = power(sine(1000, rate, static_cast<int>(settled.size())), 1000, rate);
    CHECK(tone / ref == doctest::Approx(1.0).epsilon(0.1));
    for (double image : {7000.0, 9000.0}) CHECK(10 * std::log10(power(settled, image, rate) / tone) < -50);
  }
}

TEST_CASE("upsampler: 20 ms frames give the same samples as one block (state carries over)") {
  auto in = sine(700, 8000, 1000);
  for (int f : {2, 6}) CHECK(up(f, in, 160) == up(f, in, in.size()));
  CHECK(up(3, in, 7) == up(3, in, in.size()));
}

TEST_CASE("upsampler: full-scale input saturates instead of wrapping") {
  std::vector<std::int16_t> square;
  for (int i = 0; i < 800; ++i) square.push_back((i / 4) % 2 ? 32767 : -32768);
  auto out = up(4, square, 160);
  for (std::size_t i = 1; i < out.size(); ++i) REQUIRE(std::abs(out[i] - out[i - 1]) < 40000);
}
