#pragma once
// Runs one coroutine on a test's loop and hands back what it returned, so a
// test of an awaitable API reads as straight-line code. The result lives in
// a shared slot: a task still pending after a timeout never writes to a
// dead frame.

#include <chrono>
#include <memory>
#include <optional>

#include "common/net.hpp"
#include "common/spawn.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard::testing {

// The task's result, or nullopt when it did not finish within `timeout`.
template <typename T>
std::optional<T> run_task(test_loop& loop, asio::awaitable<T> task,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto result = std::make_shared<std::optional<T>>();
  spawn(
      loop.context().get_executor(),
      [](asio::awaitable<T> t, std::shared_ptr<std::optional<T>> out) -> asio::awaitable<void> {
        *out = co_await std::move(t);
      }(std::move(task), result),
      "test task");
  loop.run_until([&] { return result->has_value(); }, timeout);
  return std::move(*result);
}

}  // namespace switchboard::testing
