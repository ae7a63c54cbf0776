#include "tests/support/test_loop.hpp"

namespace switchboard::testing {
namespace {

// How often run_until looks at its predicate when no handler runs.
constexpr std::chrono::milliseconds check_interval{10};

}  // namespace

bool test_loop::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    ioc_.run_one_until(std::min(deadline, now + check_interval));
  }
  return true;
}

void test_loop::run_for(std::chrono::milliseconds duration) {
  run_until([] { return false; }, duration);
}

}  // namespace switchboard::testing
