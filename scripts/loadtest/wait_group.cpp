#include "scripts/loadtest/wait_group.hpp"

namespace switchboard::load {

void wait_group::spawn(asio::awaitable<void> task) {
  ++running_;
  // common/spawn.hpp's policy, plus the count that wait() needs.
  asio::co_spawn(ex_, std::move(task), [this](std::exception_ptr e) {
    fail_on_exception(e, "load task");
    if (--running_ == 0) timer_.cancel();
  });
}

asio::awaitable<void> wait_group::wait() {
  while (running_ != 0) co_await timer_.async_wait(use_nothrow);
}

}  // namespace switchboard::load
