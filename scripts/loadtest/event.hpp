#pragma once
// A one-shot flag coroutines can wait for: set() wakes every waiter, and a
// wait after set() returns at once. A timer parked at time_point::max() that
// set() cancels, as in Asio's coroutine chat server. The expiry is set once:
// setting it again would cancel the other waiters.

#include "common/net.hpp"

namespace switchboard::load {

class event {
 public:
  explicit event(asio::any_io_executor ex) : timer_(std::move(ex), asio::steady_timer::time_point::max()) {}

  void set();
  bool is_set() const { return set_; }
  asio::awaitable<void> wait();

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace switchboard::load
