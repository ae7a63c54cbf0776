#pragma once
// A Redis pool's counts, apart from the pool so that the metrics region in
// shared memory can hold them without pulling in Asio.

#include <atomic>
#include <cstdint>

namespace switchboard::redis {

// What a pool is doing, for metrics. The pool is the only writer (relaxed
// stores), so a caller may place this in shared memory for other processes
// to read. Gauges are overwritten; totals only grow, so one instance can
// serve pools that replace each other.
struct pool_counters {
  std::atomic<std::uint64_t> all{0};                 // gauge: open or connecting
  std::atomic<std::uint64_t> idle{0};                // gauge: open, not leased
  std::atomic<std::uint64_t> in_use{0};              // gauge: leased
  std::atomic<std::uint64_t> waiting{0};             // gauge: acquire() calls queued
  std::atomic<std::uint64_t> acquire_timeouts{0};    // waiters that got nothing in time
  std::atomic<std::uint64_t> acquire_rejections{0};  // full, and not allowed to wait
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> broken_discarded{0};    // found closed when idle or returned
  // Redis Cluster redirections the router followed (router.hpp).
  std::atomic<std::uint64_t> moved_redirects{0};
  std::atomic<std::uint64_t> ask_redirects{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "pool_counters must work in shared memory");

}  // namespace switchboard::redis
