#pragma once
// Runs coroutines detached and lets one coroutine wait until all have ended
// (a fan-out whose size is known only at run time). The failure policy is
// common/spawn.hpp's: an exception escaping a task aborts the process.

#include <cstddef>

#include "common/net.hpp"
#include "common/spawn.hpp"

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

}  // namespace switchboard::load
