#pragma once
// A forked load process: its own io_context, its share of the connections,
// progress ticks and final stats to the parent through its pipes.

#include "scripts/loadtest/clock.hpp"
#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/plan.hpp"
#include "scripts/loadtest/target.hpp"
#include "scripts/loadtest/token_source.hpp"

namespace switchboard::load {

// Runs share `index` of the plan and exits the process (_exit: thousands of
// sockets are closed faster by the kernel than one by one). `epoch` is the
// parent's start: ticks fall on whole seconds after it.
[[noreturn]] void run_load_process(const options& o, const plan& p, const target& t, const token_source& tokens,
                                   int index, int from_parent, int to_parent, nanos epoch);

}  // namespace switchboard::load
