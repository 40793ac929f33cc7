// The wall clock, in the two units the call state and Redis use. The only place that reads it; pure code in
// core/ takes the time as a parameter.
#pragma once
#include <chrono>

namespace dp::io {

// Seconds since the epoch, microsecond resolution (call state, webhook payloads).
inline double wall_now() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) / 1e6;
}

// Milliseconds since the epoch (Redis sorted-set scores of timers, leases and outbox due times).
inline long long epoch_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace dp::io
