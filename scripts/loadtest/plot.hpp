#pragma once
// --plot: the per-second time series as CSV, and PNG charts of throughput
// and latency percentiles drawn by gnuplot (Debian package gnuplot-nox).

#include <string>
#include <vector>

#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/progress.hpp"

namespace switchboard::load {

// Checked before the run, so a missing gnuplot does not waste one; throws
// std::runtime_error saying how to install it.
void check_gnuplot();

// Writes DIR/timeseries.csv, DIR/plot.gp (to redraw by hand), and renders
// DIR/throughput.png and DIR/latency.png. Throws std::runtime_error.
void write_plots(const std::string& dir, const options& o, const std::vector<second_sample>& series);

}  // namespace switchboard::load
