#pragma once
// A worker process: one io_context on one thread, serving the clients it
// accepts on its listening socket until SIGTERM, then draining.

#include "common/config.hpp"
#include "common/metrics.hpp"

namespace switchboard {

struct listen_socket;

// Runs in the child after fork() and ends the process: exit status 0 after a
// drain; an exception escapes only from start-up.
[[noreturn]] void run_worker(const config& cfg, int index, const listen_socket& socket, metrics::region& counters);

}  // namespace switchboard
