#pragma once
// The worker's side of the Redis bus: publishes envelopes on one pipelined
// connection of their own (the ordered lane), receives them on one
// subscriber connection and hands them to a delivery sink (the hub). A
// control connection of its own carries the liveness heartbeat, so that
// client traffic never makes a live worker look dead.
// Publishing is refused (unavailable) unless a published message would
// really reach every worker: see worker_registry.

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/event.hpp"
#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/redis/cluster_locator.hpp"
#include "common/redis/router.hpp"
#include "common/redis/shard_lanes.hpp"
#include "common/redis/subscriber.hpp"
#include "common/metrics.hpp"
#include "server/cluster/delivery_sink.hpp"
#include "common/protocol/redis_keys.hpp"
#include "server/cluster/subscription_probe.hpp"
#include "server/cluster/worker_registry.hpp"

namespace switchboard {

class bus {
 public:
  // After the primary moves, the subscriber stays on the old one this much
  // longer than the command connections: a worker that hears of the move a
  // moment later than this one may still have its last publish acknowledged
  // by the old primary, and this worker's clients must get that message.
  // Every worker hears +switch-master from the same sentinels within
  // milliseconds; publishes answered after a worker heard it are refused.
  static constexpr std::chrono::milliseconds subscriber_grace{250};

  bus(asio::any_io_executor ex, const config& cfg, const redis_keys& keys, std::string worker_key,
      delivery_sink& local, metrics::worker_metrics& counters);

  void start();
  void stop();

  // True while a publish would be acknowledged truthfully.
  bool ready() const;
  // True while a client may be welcomed: the subscriber holds the worker's
  // channels, and every worker has heard of this one, or a Redis restart
  // right after could let others ack what its clients miss.
  bool welcoming() const;
  // Wait until ready() / welcoming() holds: true once it does, false when
  // `deadline` comes first.
  asio::awaitable<bool> ready_by(std::chrono::steady_clock::time_point deadline) {
    return ready_.wait_until(deadline);
  }
  asio::awaitable<bool> welcoming_by(std::chrono::steady_clock::time_point deadline) {
    return welcoming_.wait_until(deadline);
  }

  // Publishes an envelope; errc::unavailable when not ready or on failure.
  // Every publish of the worker goes down one pipelined connection, appended
  // when called: publishes reach Redis in the order they were made, so a
  // session's keep their order with many in flight (docs/architecture.md).
  asio::awaitable<error_code> publish(const std::string& channel, std::string_view envelope);
  // A publishing command of another shape (a room's history script),
  // through the same gate: errc::unavailable when not ready or when Redis
  // failed; an error reply comes back as errc::server_error with the reply.
  asio::awaitable<redis::connection::result> publish_command(std::span<const std::string_view> args);
  // A script the publishing connection loads before any command on every
  // connect, so that EVALSHAs on it never meet NOSCRIPT after Redis lost
  // its scripts: a retry with EVAL could leave behind a later message's
  // EVALSHA, out of order. `text` must outlive the bus.
  void preload_script(std::string_view text) { preloaded_scripts_.push_back(text); }
  // What transaction() answers: one reply per command, in order, owned by
  // `execs` (the EXEC replies); `ec` set and no replies when it failed.
  struct transaction_result {
    error_code ec;
    std::vector<const redisReply*> replies;
    std::vector<redis::reply_ptr> execs;
  };
  // Publishing commands (PUBLISH, the history script) in one MULTI/EXEC on
  // one connection: in order, and all of them or none. On a Redis Cluster,
  // one MULTI/EXEC per slot (a transaction cannot span slots), in order of
  // each slot's first command, each on its shard's lane: all or none per
  // slot, and the slots done before one that failed stay done.
  asio::awaitable<transaction_result> transaction(std::span<const std::vector<std::string>> commands);

  const redis_keys& keys() const { return keys_; }
  // PUBLISH, or SPUBLISH on a Redis Cluster, whose pub/sub is sharded.
  std::string_view publish_verb() const { return cluster_ ? "SPUBLISH" : "PUBLISH"; }
  redis::router& pool() { return pool_; }
  const redis::client& control() const { return control_; }
  redis::subscriber& subscriber() { return subscriber_; }
  worker_registry& registry() { return registry_; }

 private:
  void on_message(std::string_view channel, std::string_view payload);
  // The primary has moved (Sentinel): every connection goes to the new one.
  void follow_primary();
  // The subscriber is ready (or the control connection up): both must be on
  // the same server, or the registry entry would vouch for a subscription
  // on another server than the one whose run_id it names.
  bool subscriber_on_primary();
  // One of the states ready() and welcoming() read has changed.
  void update();
  void observe_publish(std::chrono::steady_clock::time_point sent_at);
  // The publishing lanes are up: the one, or on a Redis Cluster every shard's.
  bool lanes_up() const;

  const redis_keys& keys_;
  std::shared_ptr<redis::locator> where_;  // shared by every connection below
  std::shared_ptr<redis::cluster_locator> cluster_;  // where_, on a Redis Cluster
  asio::steady_timer subscriber_move_;     // subscriber_grace after a move
  bool subscriber_moving_ = false;         // subscriber_move_ is armed
  std::string own_channel_;
  std::string hello_channel_;
  delivery_sink& local_;
  redis::client control_;
  // The ordered lane: PUBLISH and the history script. On a Redis Cluster
  // it stays idle and lanes_ has one per primary instead.
  redis::client publishes_;
  std::vector<std::string_view> preloaded_scripts_;
  std::unique_ptr<redis::shard_lanes> lanes_;  // on a Redis Cluster only
  redis::router pool_;
  redis::subscriber subscriber_;
  worker_registry registry_;
  subscription_probe probe_;
  metrics::worker_metrics& metrics_;
  bool ever_ready_ = false;  // the subscriber's first ready is no reconnect
  event ready_;      // set while ready()
  event welcoming_;  // set while welcoming()
};

}  // namespace switchboard
