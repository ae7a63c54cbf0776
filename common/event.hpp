#pragma once
// A flag coroutines can wait for, instead of polling on a timer: set() wakes
// every waiter, a wait while it is set returns at once, reset() makes later
// waits block again. Each waiter parks its own timer, so a wait can carry a
// deadline and set() cancels exactly the waiters that are parked.
// Single-threaded, like everything on a worker's io_context.

#include <chrono>
#include <vector>

#include "common/net.hpp"

namespace switchboard {

class event {
 public:
  explicit event(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  void set();
  void reset() { set_ = false; }
  // set() when `on`, reset() otherwise.
  void set(bool on) { on ? set() : reset(); }
  bool is_set() const { return set_; }

  // Returns once the event is set.
  asio::awaitable<void> wait();
  // Returns is_set(): true once it is set, false when `deadline` came first.
  asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  asio::any_io_executor ex_;
  std::vector<asio::steady_timer*> waiters_;  // parked in wait_until, woken by set()
  bool set_ = false;
};

}  // namespace switchboard
