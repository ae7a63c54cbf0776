#include "scripts/loadtest/scenario.hpp"

namespace switchboard::load {

asio::awaitable<bool> await_go(run_state& rs, control& ctl, std::uint64_t open) {
  // GCC 12 miscompiles `if (!co_await ...)` in coroutines (SIGILL at run
  // time), so every awaited condition here is a named value first.
  const bool go = co_await ctl.ready(open);
  if (!go) co_return false;
  rs.start = ctl.start_time();
  rs.window_begin = rs.start + static_cast<nanos>(rs.opt.warmup * 1e9);
  rs.window_end = rs.window_begin + static_cast<nanos>(rs.opt.duration * 1e9);
  rs.global_connected = ctl.global_connections();
  co_return true;
}

asio::awaitable<void> run_scenario(run_state& rs, fleet& fl, control& ctl) {
  switch (rs.opt.scenario) {
    case scenario_kind::fanout: co_await run_fanout(rs, fl, ctl); break;
    case scenario_kind::direct: co_await run_direct(rs, fl, ctl); break;
    case scenario_kind::rooms: co_await run_rooms(rs, fl, ctl); break;
    case scenario_kind::connect: co_await run_connect(rs, fl, ctl); break;
    case scenario_kind::churn: co_await run_churn(rs, ctl); break;
  }
}

}  // namespace switchboard::load
