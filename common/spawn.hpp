#pragma once
// The one way to start a coroutine nobody awaits. Failure policy: errors on
// I/O paths are values, so an exception that escapes a spawned task is a
// broken invariant. It is logged with what the task was, and the process
// aborts: a worker restarted by its master is better than one that goes on
// without a loop it needs (the heartbeat, the probe, the accept loop).

#include <string_view>

#include "common/net.hpp"

namespace switchboard {

// Reports an exception that escaped the task `what` and aborts; no-op for null.
void fail_on_exception(std::exception_ptr e, std::string_view what);

// Runs `task` on `ex`, detached. `what` names it in the report ("registry
// heartbeat"): a string literal or another string that outlives the task.
template <typename T>
void spawn(const asio::any_io_executor& ex, asio::awaitable<T> task, std::string_view what) {
  asio::co_spawn(ex, std::move(task), [what](std::exception_ptr e, auto&&...) { fail_on_exception(e, what); });
}

}  // namespace switchboard
