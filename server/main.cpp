// switchboard: a clustered WebSocket messaging server. See README.md.

#include <cstdio>
#include <exception>
#include <system_error>

#include "common/config.hpp"
#include "common/log.hpp"
#include "server/listen_socket.hpp"
#include "server/master.hpp"

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
    return run_master(cfg, open_listen_sockets(cfg));
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "switchboard: %s\n", e.what());
    return 1;
  }
}
