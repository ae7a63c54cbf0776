#pragma once
// The worker's side of the Redis bus: publishes envelopes over the command
// pool, receives them on one subscriber connection and hands them to the
// hub. A control connection of its own carries the liveness heartbeat, so
// that a pool busy with client traffic never makes a live worker look dead.
// Publishing is refused (unavailable) unless a published message would
// really reach every worker: see worker_registry.

#include <string>
#include <string_view>

#include "common/config.hpp"
#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/redis/pool.hpp"
#include "common/redis/subscriber.hpp"
#include "server/net/hub.hpp"
#include "common/metrics.hpp"
#include "server/cluster/redis_keys.hpp"
#include "server/cluster/subscription_probe.hpp"
#include "server/cluster/worker_registry.hpp"

namespace switchboard {

class bus {
 public:
  bus(asio::any_io_executor ex, const config& cfg, const redis_keys& keys, std::string worker_key, hub& local,
      metrics::worker_metrics& counters);

  void start();
  void stop();

  // True while a publish would be acknowledged truthfully.
  bool ready() const;

  // Publishes an envelope; errc::unavailable when not ready or on failure.
  // A session has one request in flight at a time, so its publishes reach
  // Redis in the order it sent them, whichever pooled connection each takes.
  asio::awaitable<error_code> publish(const std::string& channel, std::string_view envelope);

  redis::pool& pool() { return pool_; }
  const redis::client& control() const { return control_; }
  redis::subscriber& subscriber() { return subscriber_; }
  worker_registry& registry() { return registry_; }

 private:
  void on_message(std::string_view channel, std::string_view payload);

  const redis_keys& keys_;
  std::string own_channel_;
  std::string hello_channel_;
  hub& hub_;
  redis::client control_;
  redis::pool pool_;
  redis::subscriber subscriber_;
  worker_registry registry_;
  subscription_probe probe_;
  metrics::worker_metrics& metrics_;
  bool ever_ready_ = false;  // the subscriber's first ready is no reconnect
};

}  // namespace switchboard
