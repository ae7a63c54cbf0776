#pragma once
// The ordered lanes of a Redis Cluster: one pipelined connection to each
// primary, so that the commands a worker sends to one shard reach it in the
// order they were made (a pool's connections would let a later PUBLISH
// overtake an earlier one). Commands go to the primary of their key's slot
// (router::routing_key). A command that meets MOVED or ASK is not sent
// again elsewhere: a retry would arrive after the commands sent meanwhile,
// out of order. It fails (errc::unavailable) and the map is read again.
//
// Lanes follow the map: one for every primary it names, made when it names
// it, and a lane of a node that serves no slot any more is closed.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/redis/cluster_locator.hpp"
#include "common/redis/pool_counters.hpp"

namespace switchboard::redis {

class shard_lanes {
 public:
  // `scripts` are loaded on every lane before anything else on each connect
  // (see bus::preload_script); the vector must outlive the lanes.
  shard_lanes(asio::any_io_executor ex, std::shared_ptr<cluster_locator> cluster, client_options base,
              const std::vector<std::string_view>& scripts, pool_counters& counters);
  shard_lanes(const shard_lanes&) = delete;
  shard_lanes& operator=(const shard_lanes&) = delete;

  // A lane went up or down.
  std::function<void()> on_change;
  // A lane connected again after it had been up: its primary may have
  // restarted and lost every subscription it held, without any failover.
  std::function<void()> on_reconnect;

  void start();
  void stop();
  // Closes every lane's connection; each connects again.
  void reset_connections();

  // Every primary of the map has its lane up.
  bool all_up() const;
  // The command on the lane of its key's slot.
  asio::awaitable<connection::result> request(std::span<const std::string_view> args);
  // MULTI/EXEC on the lane of the first command's key: all of them must
  // share its slot.
  asio::awaitable<connection::result> transaction(std::span<const std::vector<std::string>> commands);
  // Every primary's run_id, in the map's order ("" when one did not answer):
  // a primary that restarted without a failover changes it.
  asio::awaitable<std::string> run_ids();

 private:
  struct lane {
    std::unique_ptr<client> connection;
    bool was_up = false;
  };
  struct retired_lane {
    std::unique_ptr<client> connection;
    std::chrono::steady_clock::time_point at;
  };

  // Makes a lane for every primary of the map, retires the others.
  void follow_map();
  client* lane_for(std::optional<std::string_view> key);
  // Fails a reply that says the slot is elsewhere, and has the map read.
  connection::result checked(connection::result result);

  asio::any_io_executor ex_;
  std::shared_ptr<cluster_locator> cluster_;
  client_options base_;
  const std::vector<std::string_view>& scripts_;
  pool_counters& counters_;
  bool started_ = false;
  std::map<std::string, lane> lanes_;  // by "host:port"
  // Stopped lanes whose loops may still be unwinding; dropped a while later.
  std::vector<retired_lane> retired_;
};

}  // namespace switchboard::redis
