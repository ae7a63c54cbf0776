#pragma once
// The pub/sub side of a worker. Against one Redis (or a Sentinel group's
// primary), one channel_subscriber. Against a Redis Cluster, sharded pub/sub:
// one SSUBSCRIBE connection per primary that serves a wanted channel's slot.
// When the slot map changes, or a shard drops a channel (its slot moved),
// each channel is subscribed again on the primary that serves it now.
//
// Ready means every wanted channel is held: for a cluster, on every shard
// it needs, with no channel between two shards. on_ready and on_down have
// the meaning they have for one connection, for the whole set.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "common/redis/channel_subscriber.hpp"
#include "common/redis/cluster_locator.hpp"

namespace switchboard::redis {

class subscriber {
 public:
  using message_handler = channel_subscriber::message_handler;

  // Without `cluster`, one connection on options.where; with it, sharded,
  // on the cluster's primaries.
  subscriber(asio::any_io_executor ex, client_options options, message_handler on_message,
             std::shared_ptr<cluster_locator> cluster = nullptr);
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  // Every wanted channel held again after a loss; once per recovery.
  std::function<void()> on_ready;
  // Some wanted channel is no longer held until on_ready again.
  std::function<void()> on_down;

  void start();
  void stop();

  // Completes when Redis confirms the subscription; with errc::unavailable
  // when it cannot now (down, no slot map yet, the channel's slot moved
  // meanwhile). The channel stays wanted until unsubscribe().
  asio::awaitable<error_code> subscribe(std::string channel);
  void unsubscribe(const std::string& channel);
  // Drops every connection; each reconnects and resubscribes by itself.
  void reconnect();

  // Connected, and every channel held before the last loss confirmed again
  // (channels subscribed since do not count: their callers wait for their
  // own confirmation).
  bool is_ready() const;
  bool is_connected() const;
  bool sharded() const { return cluster_ != nullptr; }
  // The server it is subscribed on ("host:port"); empty while down, and
  // for a cluster, whose channels are on several.
  std::string peer() const;
  std::size_t channels() const;
  std::uint64_t reconnects() const;
  // Connections that hold a wanted channel now.
  std::size_t shard_connections() const;

 private:
  // 10 ms each: how long a subscribe waits for a shard's new connection.
  static constexpr int connect_wait_steps = 100;

  // A shard's connection, made the first time a channel's slot leads to it;
  // kept (and idle) when its channels move away.
  channel_subscriber& link_at(const std::string& host, std::uint16_t port);
  // Moves every wanted channel to the primary that serves it now.
  void route();
  // A shard dropped `channel`: route it again once the map is read anew.
  void lost(const std::string& channel);
  // Subscribes `channel` on the shard at host:port, leaving the one it was
  // on. `moving`: it was held (or wanted) before, so the set is not ready
  // until it is confirmed here.
  asio::awaitable<error_code> place(std::string channel, std::string host, std::uint16_t port, bool moving);
  bool holds_channels(const std::string& address) const;
  void link_ready();
  void link_down(const std::string& address);
  // Signals on_ready once every wanted channel is held again.
  void check_ready();

  asio::any_io_executor ex_;
  client_options options_;
  message_handler on_message_;
  std::shared_ptr<cluster_locator> cluster_;
  std::map<std::string, std::unique_ptr<channel_subscriber>> links_;  // "" for the one connection
  // Sharded: every wanted channel and the link it is placed on ("" while
  // unplaced), and the channels placed but not confirmed yet.
  std::map<std::string, std::string> placed_;
  std::set<std::string> moving_;
  bool synced_ = false;
  bool started_ = false;
};

}  // namespace switchboard::redis
