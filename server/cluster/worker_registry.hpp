#pragma once
// Which workers of the cluster are alive and subscribed, kept in Redis
// (registry_store: a set of worker keys, and per worker an entry holding the
// run_id of the Redis instance it is subscribed on, expiring after the
// liveness timeout).
//
// A worker rewrites its entry three times per timeout while its subscriber holds
// every channel, and removes it when the subscriber drops. Entries of dead
// workers expire, and the sweep removes them from the set.
//
// Why: when Redis restarts, workers reconnect at slightly different moments.
// A message that worker A publishes before worker B has resubscribed never
// reaches B's clients. So after every reconnect of its command connection, A
// holds its publishes back (the gate) until every worker it knew of has
// rewritten its entry for the current Redis instance, or has had
// the liveness timeout to do so and is taken for dead.

#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/protocol/redis_keys.hpp"
#include "server/cluster/registry_store.hpp"

namespace switchboard {

class worker_registry {
 public:
  // While the gate is shut, read the registry often: the other workers'
  // entries are in Redis, so reading it is the only way to see them return.
  static constexpr std::chrono::milliseconds gated_poll{50};

  // `publish`: PUBLISH, or SPUBLISH on a Redis Cluster (for the hello).
  worker_registry(asio::any_io_executor ex, redis::client& commands, const redis_keys& keys, std::string worker_key,
                  std::chrono::milliseconds liveness_timeout, std::string_view publish);

  // Called once for each worker found dead (its entry expired), so that what
  // it left behind in Redis can be swept.
  std::function<void(const std::string& worker_key)> on_dead;
  // Called when our entry is written for the first time after subscribed():
  // other workers take us for alive from now on.
  std::function<void()> on_registered;
  // What the worker says of itself at each heartbeat (GET /api/stats).
  std::function<std::string()> report;
  // Called whenever gate_open() or announced() changes.
  std::function<void()> on_change;

  void start();
  void stop();

  // The command connection is up again: shut the gate until the workers we
  // knew of are back.
  void commands_up();
  // Our subscriber holds every channel again / lost them.
  void subscribed();
  void unsubscribed();
  // What every live worker last reported (report above); nullopt when
  // Redis failed.
  asio::awaitable<std::optional<std::vector<std::string>>> reports() { return store_.read_reports(); }
  // Leaving for good (drain): remove our entry so nobody waits for us.
  asio::awaitable<void> withdraw();

  // See registry_store::shard_run_ids.
  void shard_run_ids(std::function<asio::awaitable<std::string>()> source) {
    store_.shard_run_ids = std::move(source);
  }

  bool gate_open() const { return gate_open_; }
  // We know every worker registered before us, and every worker has been
  // told of us (hello): only then may this worker welcome clients, or a
  // Redis restart right after could let others ack what our clients miss.
  bool announced() const { return announced_; }
  // Another worker said hello: wait for it too after the next reconnect.
  void heard(std::string_view worker_key);

 private:
  asio::awaitable<void> loop();
  asio::awaitable<void> refresh();
  void wake();
  // Opens the gate once no awaited worker is missing, or at the deadline.
  void check_gate();
  void changed();

  redis::client& commands_;
  registry_store store_;
  std::string own_key_;
  std::chrono::milliseconds entry_ttl_;
  std::chrono::milliseconds heartbeat_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  bool wake_pending_ = false;
  bool subscribed_ = false;
  bool registered_ = false;  // our entry is written since the last subscribed()
  bool gate_open_ = false;
  bool announced_ = false;
  std::string run_id_;                                // of the Redis we talk to now
  std::unordered_map<std::string, std::string> live_;  // worker key -> run_id
  std::unordered_set<std::string> awaited_;           // keys the gate waits for
  std::chrono::steady_clock::time_point gate_deadline_{};
};

}  // namespace switchboard
