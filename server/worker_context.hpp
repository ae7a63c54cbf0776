#pragma once
// The state one worker shares with all its sessions. Owned by the worker,
// held by reference, and outlives every session.

#include <string>

#include "common/config.hpp"
#include "common/protocol/client_id.hpp"
#include "server/bus.hpp"
#include "server/hub.hpp"

namespace switchboard {

struct worker_context {
  worker_context(asio::any_io_executor ex, const config& c, int worker_index)
      : cfg(c), index(worker_index), ids(protocol::make_worker_key()), bus(ex, c, ids.worker_key(), hub) {}

  const config& cfg;
  const int index;  // this worker's slot on the node, sent in welcome
  protocol::client_id_generator ids;
  switchboard::hub hub;
  switchboard::bus bus;
  bool draining = false;  // set on SIGTERM: refuse upgrades, /healthz says 503
};

}  // namespace switchboard
