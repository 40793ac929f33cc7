// Telephony audio (8 kHz, 16-bit) raised to the rates its consumers want: `listen` streams 8–64 kHz L16 to a
// websocket, the embedded speech recogniser needs 16 kHz. Every such rate is an integer multiple of 8 kHz, so
// one polyphase interpolator (zero-stuff by L, windowed-sinc low-pass at the input's Nyquist) covers them all
// without fractional phase. Pure; state is kept across calls so 20 ms frames join without clicks.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace dp::core {

class Upsampler {
 public:
  static constexpr int kMaxFactor = 8;
  static constexpr int kTapsPerPhase = 16;  // ≥ 50 dB image rejection, 1 ms of delay at 8 kHz

  // factor 1..kMaxFactor (1 = a copy); throws std::invalid_argument otherwise.
  explicit Upsampler(int factor);

  int factor() const { return factor_; }

  // Appends factor() * in.size() samples to `out`. The output lags the input by kTapsPerPhase / 2 input
  // samples (the filter's group delay).
  void process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out);

 private:
  int factor_;
  std::vector<float> taps_;     // phase-major: taps_[p * kTapsPerPhase + j] weighs x[k - j] for output k*L + p
  std::vector<float> history_;  // the last kTapsPerPhase - 1 input samples, oldest first
};

// The factor that takes 8 kHz audio to `rate`, or 0 when `rate` is not 8000 × 1..Upsampler::kMaxFactor.
int upsample_factor_from_8k(int rate);

}  // namespace dp::core
