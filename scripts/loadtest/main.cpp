// switchboard-load: the load tester. See scripts/load.sh and --help.

#include <cstdio>
#include <exception>

#include "scripts/loadtest/coordinator.hpp"
#include "scripts/loadtest/options.hpp"
#include "scripts/loadtest/plan.hpp"
#include "scripts/loadtest/plot.hpp"
#include "scripts/loadtest/report.hpp"
#include "scripts/loadtest/target.hpp"
#include "scripts/loadtest/token_source.hpp"

int main(int argc, char* argv[]) {
  using namespace switchboard::load;
  options o;
  plan p;
  target t;
  token_source tokens;
  try {
    o = parse_options(argc, argv);
    p = make_plan(o);
    t = resolve_target(o.url, o.source_addrs);
    tokens = make_token_source(o);
  } catch (const help_requested& help) {
    std::fputs(help.what(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchboard-load: %s\nTry 'switchboard-load --help'.\n", e.what());
    return 2;
  }
  try {
    if (!o.plot_dir.empty()) check_gnuplot();
    std::fprintf(stderr, "switchboard-load %s: %zu connections to %s over %d process(es); tokens: %s\n",
                 std::string(to_string(o.scenario)).c_str(), p.total_connections, o.url.c_str(), o.procs,
                 tokens.describe().c_str());
    const outcome r = coordinate(o, p, t, tokens);
    print_summary(stderr, o, r);
    std::printf("%s\n", json_summary(o, p, r).c_str());
    std::fflush(stdout);
    if (!o.plot_dir.empty()) {
      write_plots(o.plot_dir, o, r.series);
      std::fprintf(stderr, "plots        %s/{throughput,latency}.png, data in timeseries.csv\n", o.plot_dir.c_str());
    }
    return r.failed_processes ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchboard-load: %s\n", e.what());
    return 1;
  }
}
