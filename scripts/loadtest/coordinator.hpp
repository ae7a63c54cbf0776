#pragma once
// The parent process: forks the load processes, starts them together once
// all are connected, prints progress every second, decides when the
// deliveries have drained, stops them and merges their final stats.
// Plain POSIX (poll on the pipes), like a server's master.

#include <cstdint>
#include <vector>

#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/plan.hpp"
#include "scripts/loadtest/progress.hpp"
#include "scripts/loadtest/stats.hpp"
#include "scripts/loadtest/target.hpp"
#include "scripts/loadtest/token_source.hpp"

namespace switchboard::load {

struct outcome {
  stats total;                        // every process's final stats, merged
  std::vector<second_sample> series;  // one per second, in order
  std::uint64_t connected_at_go = 0;  // connections open in all processes when sending began
  bool interrupted = false;           // Ctrl-C
  double measured_seconds = 0;        // of the window: --duration, less when interrupted
  int failed_processes = 0;           // ended without final stats
};

outcome coordinate(const options& o, const plan& p, const target& t, const token_source& tokens);

}  // namespace switchboard::load
