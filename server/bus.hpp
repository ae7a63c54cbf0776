#pragma once
// The worker's side of the Redis bus: publishes envelopes on one command
// connection, receives them on one subscriber connection and hands them to
// the hub. Publishing is refused (unavailable) unless a published message
// would really reach every worker: see worker_registry.

#include <string>
#include <string_view>

#include "common/config.hpp"
#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/redis/subscriber.hpp"
#include "server/hub.hpp"
#include "server/worker_registry.hpp"

namespace switchboard {

class bus {
 public:
  bus(asio::any_io_executor ex, const config& cfg, std::string worker_key, hub& local);

  void start();
  void stop();

  // True while a publish would be acknowledged truthfully.
  bool ready() const;

  // Publishes an envelope; errc::unavailable when not ready or on failure.
  asio::awaitable<error_code> publish(const std::string& channel, std::string_view envelope);

  const std::string& broadcast_channel() const { return broadcast_channel_; }
  // The channel of the worker that owns ids with this key.
  std::string worker_channel(std::string_view worker_key) const;

 private:
  void on_message(std::string_view channel, std::string_view payload);

  std::string prefix_;
  std::string broadcast_channel_;
  std::string own_channel_;
  hub& hub_;
  redis::client commands_;
  redis::subscriber subscriber_;
  worker_registry registry_;
};

}  // namespace switchboard
