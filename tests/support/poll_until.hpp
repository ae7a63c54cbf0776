#pragma once
// Blocking waits of the test support for servers started outside the test's
// event loop (a Sentinel group, a Redis Cluster): checks `done` every 50 ms.

#include <chrono>
#include <thread>

namespace switchboard::testing {

template <typename Done>
bool poll_until(Done done, std::chrono::milliseconds timeout) {
  constexpr auto interval = std::chrono::milliseconds(50);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(interval);
  }
  return true;
}

}  // namespace switchboard::testing
