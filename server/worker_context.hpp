#pragma once
// The state one worker shares with all its sessions: every part of the
// worker, wired together once. Owned by the worker, held by reference, and
// outlives every session.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/event.hpp"
#include "common/metrics.hpp"
#include "common/protocol/client_id.hpp"
#include "common/request_budget.hpp"
#include "common/static_files.hpp"
#include "server/cluster/bus.hpp"
#include "server/cluster/history_store.hpp"
#include "server/cluster/presence_store.hpp"
#include "server/cluster/publisher.hpp"
#include "common/protocol/redis_keys.hpp"
#include "server/net/admission.hpp"
#include "server/net/backend_api.hpp"
#include "server/net/expiry_wheel.hpp"
#include "server/net/hub.hpp"
#include "server/net/idle_watch.hpp"
#include "server/net/room_service.hpp"
#include "server/net/send_ring.hpp"
#include "server/net/turn_writer.hpp"

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
        hub(metrics),
        bus(ex, c, keys, ids.worker_key(), hub, metrics),
        history(bus, keys, c),
        messages(bus, history, keys, metrics),
        presence(ex, bus.pool(), keys, ids.worker_key(), c.redis_pool_size),
        rooms(ex, c, keys, hub, presence, history, messages, bus.control(), bus.subscriber()),
        api(c, messages, rooms, presence, history, bus, metrics),
        files(c.www_dir, c.static_max_bytes),
        admit(c),
        expiries(ex),
        idle(ex, std::chrono::duration_cast<std::chrono::steady_clock::duration>(c.idle_timeout) / 2),
        client_rate(request_rate::of(c.client_rate, c.client_burst)),
        no_sessions(ex),
        writes(ex, sends) {
    bus.registry().on_registered = [this] { rooms.restore(); };
    bus.registry().on_dead = [this](const std::string& worker) { rooms.sweep(worker); };
    bus.registry().report = [this] {
      return nlohmann::json{{"key", ids.worker_key()}, {"node", cfg.node}, {"worker", index}, {"connections", hub.size()}}
          .dump();
    };
    no_sessions.set();
  }
  worker_context(const worker_context&) = delete;
  worker_context& operator=(const worker_context&) = delete;

  // A session exists from its construction (handshake included) to its
  // destruction; the drain waits for no_sessions.
  void session_opened() {
    ++sessions;
    no_sessions.reset();
  }
  void session_closed() {
    if (--sessions == 0) no_sessions.set();
  }

  // The worker's io_context, for what needs its concrete executor type.
  const asio::io_context::executor_type executor;
  const config& cfg;
  const int index;  // this worker's slot on the node, sent in welcome
  const metrics::region& all_metrics;  // every worker's, for GET /metrics
  metrics::worker_metrics& metrics;    // this worker's slot
  const redis_keys keys;
  protocol::client_id_generator ids;
  send_ring sends;  // the writes of one turn in one system call (turn_writer's)
  switchboard::hub hub;
  switchboard::bus bus;
  history_store history;  // rooms that keep history (--history-rooms)
  publisher messages;  // the one publish path
  presence_store presence;
  room_service rooms;
  backend_api api;
  const static_files files;
  admission admit;             // origin and token of every upgrade, and refreshes
  expiry_wheel expiries;       // closes sessions whose token ran out
  idle_watch idle;             // pings silent peers, drops the ones that stay silent
  const request_rate client_rate;  // every session's request budget
  // Draining: /healthz answers 503. Stopping (after the drain notice): the
  // listener is closed and every session, new ones included, closes with 1001.
  bool draining = false;
  bool stopping = false;
  std::size_t sessions = 0;  // ws_session objects alive, handshakes included
  event no_sessions;         // set while sessions == 0
  // Last: destroyed first, with the sessions it still holds for its drain.
  turn_writer writes;
};

}  // namespace switchboard
