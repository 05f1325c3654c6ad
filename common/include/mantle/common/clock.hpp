// The two clocks, as seconds in a double: wall time for timestamps that leave
// the process (Mesos' TimeInfo, status update timestamps, registration
// times), steady time for intervals and deadlines within it.
#pragma once

#include <chrono>
#include <cstdint>

namespace mantle {

// Seconds since the Unix epoch.
inline double wallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Seconds on the monotonic clock (arbitrary origin): only differences mean
// anything.
inline double steadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The same clock in nanoseconds. On Linux it is CLOCK_MONOTONIC, so stamps of
// different processes on one machine compare (the agent's launch trace).
inline std::int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace mantle
