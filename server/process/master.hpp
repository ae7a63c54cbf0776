#pragma once
// The master process: forks one worker per slot, restarts a worker that
// dies (with growing backoff), and on SIGTERM/SIGINT drains the workers and
// exits after them.

#include <vector>

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "server/process/listen_socket.hpp"

namespace switchboard {

// Returns the process exit status.
int run_master(const config& cfg, std::vector<listen_socket> sockets, metrics::region& counters);

}  // namespace switchboard
