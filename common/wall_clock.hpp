#pragma once
// Seconds since the epoch, the unit of a token's exp and nbf.

#include <chrono>
#include <cstdint>

namespace switchboard {

inline std::int64_t epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace switchboard
