#pragma once
// The state one load process shares among its connections, senders and
// scenario: what to do, where, when the measured window is, and the counts.
// Single-threaded: everything runs on the process's one io_context.

#include <cstdint>
#include <limits>
#include <string>

#include "common/net.hpp"
#include "scripts/loadtest/clock.hpp"
#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/plan.hpp"
#include "scripts/loadtest/stats.hpp"
#include "scripts/loadtest/target.hpp"
#include "scripts/loadtest/token_source.hpp"

namespace switchboard::load {

struct run_state {
  static constexpr nanos never = std::numeric_limits<nanos>::max();

  run_state(asio::io_context& c, const options& o, const plan& p, const share& s, const target& t,
            const token_source& k)
      : ioc(c), opt(o), whole(p), part(s), to(t), tokens(k) {}

  asio::io_context& ioc;

  const options& opt;
  const plan& whole;
  const share& part;
  const target& to;
  const token_source& tokens;

  stats total;          // cumulative, sent to the parent at the end
  histogram interval;   // latencies since the last progress tick

  // Set by the parent's go: sending runs from start to window_end, and only
  // what is scheduled from window_begin on is measured.
  nanos start = never;
  nanos window_begin = never;
  nanos window_end = never;
  std::uint64_t global_connected = 0;  // connections open in all processes at go
  bool stopping = false;

  bool in_window(nanos t) const { return t >= window_begin && t < window_end; }

  // The token of this process's connection (or churn loop) `n`; see
  // token_source::token_for.
  std::string token_for(std::uint64_t n) const { return tokens.token_for(part.index, n); }

  // A latency sample whose clock started at `from` (a scheduled time).
  void record_latency(nanos from, nanos now) {
    interval.record(now - from);
    if (in_window(from)) total.latency.record(now - from);
  }
};

}  // namespace switchboard::load
