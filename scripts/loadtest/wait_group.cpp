#include "scripts/loadtest/wait_group.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace switchboard::load {
namespace {

void fail_on_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "switchboard-load: internal error: %s\n", ex.what());
  }
  std::abort();
}

}  // namespace

void spawn_detached(asio::any_io_executor ex, asio::awaitable<void> task) {
  asio::co_spawn(ex, std::move(task), fail_on_exception);
}

void wait_group::spawn(asio::awaitable<void> task) {
  ++running_;
  asio::co_spawn(ex_, std::move(task), [this](std::exception_ptr e) {
    fail_on_exception(e);
    if (--running_ == 0) timer_.cancel();
  });
}

asio::awaitable<void> wait_group::wait() {
  while (running_ != 0) co_await timer_.async_wait(use_nothrow);
}

}  // namespace switchboard::load
