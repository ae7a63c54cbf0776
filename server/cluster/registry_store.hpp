#pragma once
// The worker registry in Redis, typed: worker_registry says what it wants
// (heartbeat, who is alive, announce itself) and this builds the commands
// and reads the replies. Layout:
//
//   <prefix>workers            a set of worker keys
//   <prefix>worker:<key>       the run_id of the Redis instance the worker is
//                              subscribed on, expiring after the liveness timeout
//   <prefix>worker-stats:<key> what the worker last said of itself (a JSON
//                              object: node, worker, connections), expiring
//                              with its entry
//   <prefix>hello              channel: a new worker publishes its key once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "common/redis/client.hpp"
#include "common/protocol/redis_keys.hpp"

namespace switchboard {

class registry_store {
 public:
  // `publish`: PUBLISH, or SPUBLISH on a Redis Cluster.
  registry_store(redis::client& commands, const redis_keys& keys, std::string own_key,
                 std::string_view publish = "PUBLISH")
      : commands_(commands), keys_(keys), own_key_(std::move(own_key)), publish_(publish) {}

  // The run_id of the Redis instance the connection talks to, and on a
  // Redis Cluster who serves which slot and every primary's run_id
  // (shard_run_ids), since a new or restarted primary of any shard has lost
  // that shard's subscriptions; empty when Redis did not say.
  asio::awaitable<std::string> run_id();
  // On a Redis Cluster: every primary's run_id, empty when one did not say.
  std::function<asio::awaitable<std::string>()> shard_run_ids;
  // Writes our entry, expiring after `ttl`, and lists us in the set. The
  // error is the entry's: the set only matters to workers that read it later.
  // `report`: the worker's stats, kept as long as the entry.
  asio::awaitable<error_code> heartbeat(std::string_view run_id, std::chrono::milliseconds ttl,
                                        std::string_view report);
  // The reports of the workers whose report has not expired; nullopt when
  // Redis failed. Reads only: the roll's bookkeeping stays with read_roll.
  asio::awaitable<std::optional<std::vector<std::string>>> read_reports();

  // The listed workers whose entry exists, with the run_id each wrote, and
  // those whose entry expired; the expired ones are taken out of the set.
  struct roll {
    std::unordered_map<std::string, std::string> live;
    std::vector<std::string> expired;
  };
  asio::awaitable<std::optional<roll>> read_roll();

  // Tells every worker that we exist (the hello channel).
  asio::awaitable<error_code> announce();
  // Deletes our entry: nobody takes us for subscribed any more.
  asio::awaitable<void> remove_entry();
  // Deletes our entry and takes us out of the set: leaving for good.
  asio::awaitable<void> withdraw();

 private:
  redis::client& commands_;
  const redis_keys& keys_;
  std::string own_key_;
  std::string_view publish_;
};

}  // namespace switchboard
