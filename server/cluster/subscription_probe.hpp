#pragma once
// Proves that the worker's subscription really delivers: publishes a probe
// on the worker's own probe channel every `interval` and expects it back
// within `deadline`. A subscription can go silent while its connection looks
// healthy (a failover that left it on a demoted server, a proxy that lost
// it); then the probe fails, the worker counts it, reports unhealthy and
// reconnects its subscriber.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/event.hpp"
#include "common/metrics.hpp"
#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/redis/router.hpp"
#include "common/redis/subscriber.hpp"

namespace switchboard {

class subscription_probe {
 public:
  static constexpr std::chrono::milliseconds interval{1000};
  static constexpr std::chrono::milliseconds deadline{2000};

  // Publishes through `pool`, the path client messages take; `control` only
  // tells whether Redis is reachable at all.
  // `publish`: PUBLISH, or SPUBLISH for a sharded subscriber.
  subscription_probe(asio::any_io_executor ex, redis::router& pool, const redis::client& control,
                     redis::subscriber& subscriber, std::string channel, std::string_view publish,
                     metrics::worker_metrics& counters);

  // Called whenever healthy() changes.
  std::function<void()> on_change;

  void start();
  void stop();

  const std::string& channel() const { return channel_; }
  // A message arrived on channel().
  void received(std::string_view payload);
  // False from a failed probe until a probe comes back.
  bool healthy() const { return healthy_; }
  // The subscriber has just resubscribed: unhealthy until a probe proves
  // the new subscription delivers, and that probe goes out now.
  void verify_now();

 private:
  asio::awaitable<void> loop();
  void set_healthy(bool healthy);

  redis::router& pool_;
  const redis::client& control_;
  redis::subscriber& subscriber_;
  std::string channel_;
  std::string_view publish_;
  metrics::worker_metrics& metrics_;
  asio::steady_timer timer_;  // the interval between probes
  // Set when the last probe came back, or stop() / verify_now() end the wait.
  event answered_;
  std::uint64_t sent_ = 0;      // the last probe published
  std::uint64_t returned_ = 0;  // the last probe that came back
  bool healthy_ = true;
  bool restart_ = false;  // verify_now() asked for a probe at once
  bool stopped_ = false;
};

}  // namespace switchboard
