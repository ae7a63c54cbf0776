#pragma once
// The state one worker shares with all its sessions. Owned by the worker,
// held by reference, and outlives every session.

#include <string>

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "common/protocol/client_id.hpp"
#include "server/cluster/bus.hpp"
#include "server/net/hub.hpp"
#include "server/cluster/redis_keys.hpp"
#include "server/net/room_service.hpp"
#include "server/net/send_ring.hpp"
#include "common/static_files.hpp"

namespace switchboard {

struct worker_context {
  worker_context(asio::io_context::executor_type ex, const config& c, int worker_index, metrics::region& counters)
      : executor(ex),
        cfg(c),
        index(worker_index),
        all_metrics(counters),
        metrics(counters.slot(static_cast<std::size_t>(worker_index))),
        keys(c.channel_prefix),
        ids(protocol::make_worker_key()),
        hub(metrics, sends),
        bus(ex, c, keys, ids.worker_key(), hub, metrics),
        rooms(ex, c, keys, ids.worker_key(), hub, bus.pool(), bus.control(), bus.subscriber()),
        files(c.www_dir, c.static_max_bytes) {
    bus.registry().on_registered = [this] { rooms.restore(); };
    bus.registry().on_dead = [this](const std::string& worker) { rooms.sweep(worker); };
  }
  worker_context(const worker_context&) = delete;
  worker_context& operator=(const worker_context&) = delete;

  // The worker's io_context, for what needs its concrete executor type.
  const asio::io_context::executor_type executor;
  const config& cfg;
  const int index;  // this worker's slot on the node, sent in welcome
  const metrics::region& all_metrics;  // every worker's, for GET /metrics
  metrics::worker_metrics& metrics;    // this worker's slot
  const redis_keys keys;
  protocol::client_id_generator ids;
  send_ring sends;  // batches a fan-out's writes (before hub, which uses it)
  switchboard::hub hub;
  switchboard::bus bus;
  room_service rooms;
  const static_files files;
  // Draining: /healthz answers 503. Stopping (after the drain notice): the
  // listener is closed and every session, new ones included, closes with 1001.
  bool draining = false;
  bool stopping = false;
  std::size_t sessions = 0;  // ws_session objects alive, handshakes included
};

}  // namespace switchboard
