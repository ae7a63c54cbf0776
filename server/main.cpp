// switchboard: a clustered WebSocket messaging server. See README.md.

#include <cstdio>
#include <exception>
#include <system_error>

#include "common/config.hpp"
#include "common/log.hpp"
#include "server/process/listen_socket.hpp"
#include "common/metrics.hpp"
#include "server/process/master.hpp"

int main(int argc, char* argv[]) {
  using namespace switchboard;
  config cfg;
  try {
    cfg = parse_config(argc, argv);
  } catch (const help_requested& help) {
    std::fputs(help.what(), stdout);
    return 0;
  } catch (const config_error& e) {
    std::fprintf(stderr, "switchboard: %s\nTry 'switchboard --help'.\n", e.what());
    return 2;
  }
  log::set_threshold(cfg.log_level);
  log::set_context(cfg.node, "master");
  try {
    auto sockets = open_listen_sockets(cfg);
    metrics::region counters(static_cast<std::size_t>(cfg.workers));
    return run_master(cfg, std::move(sockets), counters);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "switchboard: %s\n", e.what());
    return 1;
  }
}
