#pragma once
// Timestamps for latency: CLOCK_MONOTONIC nanoseconds, comparable across the
// load processes of one machine (a sender's stamp is read by a receiver in
// another process).

#include <time.h>

#include <chrono>
#include <cstdint>

namespace switchboard::load {

using nanos = std::int64_t;

inline constexpr nanos ns_per_ms = 1'000'000;
inline constexpr nanos ns_per_s = 1'000'000'000;

inline nanos now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<nanos>(ts.tv_sec) * ns_per_s + ts.tv_nsec;
}

// libstdc++'s steady_clock reads CLOCK_MONOTONIC too, so a stamp converts to
// a timer deadline exactly.
inline std::chrono::steady_clock::time_point to_time_point(nanos t) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t));
}

}  // namespace switchboard::load
