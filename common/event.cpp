#include "common/event.hpp"

#include <algorithm>

namespace switchboard {

void event::set() {
  set_ = true;
  for (auto* waiter : waiters_) waiter->cancel();
}

asio::awaitable<void> event::wait() {
  co_await wait_until(std::chrono::steady_clock::time_point::max());
}

asio::awaitable<bool> event::wait_until(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(ex_, deadline);
  // The deadline ends the wait; set() cancels the timer to end it early. A
  // cancel that raced a reset() leaves the flag down: park again.
  while (!set_ && std::chrono::steady_clock::now() < deadline) {
    waiters_.push_back(&timer);
    co_await timer.async_wait(use_nothrow);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &timer));
  }
  co_return set_;
}

}  // namespace switchboard
