#pragma once
// The emitter's way to a Redis Cluster: each message an SPUBLISH to the
// primary that serves its channel's slot, as the server's workers publish
// there (sharded pub/sub), through redis::router (slot map, MOVED, ASK).
//
// Order: one connection per primary, and a command goes out on it when the
// one before it there has been answered, so messages given in order reach
// each shard, and the workers subscribed to it, in that order. A cluster
// keeps no order across shards: a worker reads each shard on a connection
// of its own. A command redirected (a slot that moved) is sent again after
// those queued behind it: while a slot moves, order is not kept.

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/redis/cluster_locator.hpp"
#include "common/redis/cluster_seeds.hpp"
#include "common/redis/pool_counters.hpp"
#include "common/redis/router.hpp"

namespace switchboard::emit {

// Single-threaded: call it on its executor only. It must outlive every call
// in progress.
class cluster_sender {
 public:
  cluster_sender(asio::any_io_executor ex, redis::cluster_seeds seeds, std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds command_timeout);
  ~cluster_sender();
  cluster_sender(const cluster_sender&) = delete;
  cluster_sender& operator=(const cluster_sender&) = delete;

  // Reads the slot map unless it has one: redis::errc::unavailable when no
  // node of the URL gave one within the connect timeout.
  asio::awaitable<error_code> connect();

  // SPUBLISH channel envelope.
  asio::awaitable<error_code> publish(std::string_view channel, std::string_view envelope);

  struct runs_result {
    error_code error;
    std::size_t published = 0;  // messages taken before the error (all, without one)
  };
  // `commands` are SPUBLISHes: each run of consecutive ones on one channel
  // goes as one MULTI/EXEC (a transaction cannot span slots), each run once
  // the one before it was taken; the first failed run stops the rest.
  asio::awaitable<runs_result> publish_runs(std::span<const std::vector<std::string>> commands);

  // Stops reading the map and closes every connection; calls in progress
  // and later ones fail with redis::errc::closed.
  void close();

  std::string describe() const { return map_->describe(); }

 private:
  std::chrono::milliseconds connect_timeout_;
  std::shared_ptr<redis::cluster_locator> map_;
  redis::pool_counters counters_;
  redis::router router_;
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace switchboard::emit
