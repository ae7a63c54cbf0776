#pragma once
// Which workers of the cluster are alive and subscribed, kept in Redis:
//
//   <prefix>workers            a set of worker keys
//   <prefix>worker:<key>       the run_id of the Redis instance the worker is
//                              subscribed on, expiring after `entry_ttl`
//
// A worker rewrites its entry every `heartbeat` while its subscriber holds
// every channel, and removes it when the subscriber drops. Entries of dead
// workers expire, and the sweep removes them from the set.
//
// Why: when Redis restarts, workers reconnect at slightly different moments.
// A message that worker A publishes before worker B has resubscribed never
// reaches B's clients. So after every reconnect of its command connection, A
// holds its publishes back (the gate) until every worker it knew of has
// rewritten its entry for the current Redis instance, or has had
// `entry_ttl` to do so and is taken for dead.

#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/net.hpp"
#include "common/redis/client.hpp"

namespace switchboard {

class worker_registry {
 public:
  static constexpr std::chrono::milliseconds heartbeat{1000};
  // Long enough to ride out a missed heartbeat, short enough that a dead
  // worker stops holding back the gate (and, later, presence) quickly.
  static constexpr std::chrono::milliseconds entry_ttl{3000};
  // While the gate is shut, poll faster so publishing resumes promptly.
  static constexpr std::chrono::milliseconds gated_poll{50};

  worker_registry(asio::any_io_executor ex, redis::client& commands, std::string prefix, std::string worker_key);

  void start();
  void stop();

  // The command connection is up again: shut the gate until the workers we
  // knew of are back.
  void commands_up();
  // Our subscriber holds every channel again / lost them.
  void subscribed();
  void unsubscribed();

  bool gate_open() const { return gate_open_; }
  // Worker keys seen alive at the last refresh.
  const std::unordered_map<std::string, std::string>& live() const { return live_; }

 private:
  asio::awaitable<void> loop();
  asio::awaitable<void> refresh();
  void wake();

  redis::client& commands_;
  std::string set_key_;
  std::string entry_prefix_;
  std::string own_key_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  bool wake_pending_ = false;
  bool subscribed_ = false;
  bool gate_open_ = false;
  std::string run_id_;                                // of the Redis we talk to now
  std::unordered_map<std::string, std::string> live_;  // worker key -> run_id
  std::unordered_set<std::string> awaited_;           // keys the gate waits for
  std::chrono::steady_clock::time_point gate_deadline_{};
};

}  // namespace switchboard
