#pragma once
// The scenarios of PROTOCOL.md load, one process's part of each: connect,
// report ready, wait for go, send until the end of sending, then hold
// everything (senders' targets included) until the parent says stop.

#include "common/net.hpp"
#include "scripts/loadtest/control.hpp"
#include "scripts/loadtest/fleet.hpp"
#include "scripts/loadtest/run_state.hpp"

namespace switchboard::load {

asio::awaitable<void> run_scenario(run_state& rs, fleet& fl, control& ctl);

// Reports ready with `open` connections, waits for go and sets the run's
// times from it; false when stopped instead.
asio::awaitable<bool> await_go(run_state& rs, control& ctl, std::uint64_t open);

// Per scenario (message_scenarios.cpp, connection_scenarios.cpp).
asio::awaitable<void> run_fanout(run_state& rs, fleet& fl, control& ctl);
asio::awaitable<void> run_direct(run_state& rs, fleet& fl, control& ctl);
asio::awaitable<void> run_rooms(run_state& rs, fleet& fl, control& ctl);
asio::awaitable<void> run_connect(run_state& rs, fleet& fl, control& ctl);
asio::awaitable<void> run_churn(run_state& rs, control& ctl);

}  // namespace switchboard::load
