#pragma once
// Runs coroutines detached and lets one coroutine wait until all have ended
// (a fan-out whose size is known only at run time). An exception escaping a
// task is a bug in this program: it is printed and the process exits.

#include <cstddef>

#include "common/net.hpp"

namespace switchboard::load {

class wait_group {
 public:
  explicit wait_group(asio::any_io_executor ex) : ex_(ex), timer_(ex, asio::steady_timer::time_point::max()) {}

  void spawn(asio::awaitable<void> task);
  // Returns once every task spawned so far has ended.
  asio::awaitable<void> wait();

 private:
  asio::any_io_executor ex_;
  asio::steady_timer timer_;  // parked while tasks run; the last one to end cancels it
  std::size_t running_ = 0;
};

// co_spawn with the failure policy above, for tasks nobody waits for.
void spawn_detached(asio::any_io_executor ex, asio::awaitable<void> task);

}  // namespace switchboard::load
