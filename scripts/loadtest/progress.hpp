#pragma once
// One second of a run, all processes added up: the progress line printed
// every second and a row of the --plot time series.

#include <cstdint>
#include <string>
#include <string_view>

#include "scripts/loadtest/histogram.hpp"
#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/stats.hpp"

namespace switchboard::load {

struct second_sample {
  std::int64_t second = 0;  // since the tester started
  std::string_view phase;   // connect, warmup, measure, drain, hold
  counters total;           // cumulative at the end of the second
  counters delta;           // during the second
  // Latency percentiles of that second's samples, ns; all 0 when none.
  std::uint64_t samples = 0;
  std::int64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;

  void set_latency(const histogram& h);
};

// "[  12s measure] conns 1000 | sent 40/s acked 40/s | delivered 40000/s | p99 1.20ms | errors 0"
std::string progress_line(const second_sample& s, scenario_kind scenario);

// "850us", "1.20ms", "2.5s"
std::string format_duration(std::int64_t ns);

}  // namespace switchboard::load
