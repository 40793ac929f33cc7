#include "core/resample.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace dp::core {

namespace {

// Windowed sinc, cut-off just under the input's Nyquist (a little transition band keeps the filter short),
// Blackman window; each phase normalised to unity DC gain so a constant stays a constant.
std::vector<float> design(int factor, int per_phase) {
  const int n = factor * per_phase;
  const double centre = (n - 1) / 2.0;
  const double cutoff = 0.45 / factor;  // cycles per output sample: 3.6 kHz for 8 kHz input
  std::vector<double> h(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    double t = i - centre;
    double sinc = t == 0 ? 2 * cutoff : std::sin(2 * std::numbers::pi * cutoff * t) / (std::numbers::pi * t);
    double w = 0.42 - 0.5 * std::cos(2 * std::numbers::pi * i / (n - 1)) + 0.08 * std::cos(4 * std::numbers::pi * i / (n - 1));
    h[static_cast<std::size_t>(i)] = sinc * w;
  }
  std::vector<float> taps(static_cast<std::size_t>(n));
  for (int p = 0; p < factor; ++p) {
    double sum = 0;
    for (int j = 0; j < per_phase; ++j) sum += h[static_cast<std::size_t>(p + j * factor)];
    for (int j = 0; j < per_phase; ++j)
      taps[static_cast<std::size_t>(p * per_phase + j)] = static_cast<float>(h[static_cast<std::size_t>(p + j * factor)] / sum);
  }
  return taps;
}

std::int16_t saturate(float v) {
  return static_cast<std::int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
}

}  // namespace

Upsampler::Upsampler(int factor) : factor_(factor) {
  if (factor < 1 || factor > kMaxFactor)
    throw std::invalid_argument("upsample factor must be 1.." + std::to_string(kMaxFactor));
  if (factor > 1) {
    taps_ = design(factor, kTapsPerPhase);
    history_.assign(kTapsPerPhase - 1, 0.0F);
  }
}

void Upsampler::process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out) {
  if (factor_ == 1) {
    out.insert(out.end(), in.begin(), in.end());
    return;
  }
  // x = history followed by the new input; output k*L + p uses x[k], x[k-1], ... x[k-P+1].
  std::vector<float> x(history_);
  x.reserve(history_.size() + in.size());
  for (auto s : in) x.push_back(static_cast<float>(s));
  out.reserve(out.size() + in.size() * static_cast<std::size_t>(factor_));
  const std::size_t first = history_.size();
  for (std::size_t k = first; k < x.size(); ++k) {
    for (int p = 0; p < factor_; ++p) {
      const float* h = &taps_[static_cast<std::size_t>(p * kTapsPerPhase)];
      float acc = 0;
      for (int j = 0; j < kTapsPerPhase; ++j) acc += h[j] * x[k - static_cast<std::size_t>(j)];
      out.push_back(saturate(acc));
    }
  }
  history_.assign(x.end() - static_cast<std::ptrdiff_t>(history_.size()), x.end());
}

int upsample_factor_from_8k(int rate) {
  if (rate <= 0 || rate % 8000 != 0) return 0;
  int f = rate / 8000;
  return f <= Upsampler::kMaxFactor ? f : 0;
}

}  // namespace dp::core
