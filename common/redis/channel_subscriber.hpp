#pragma once
// One pub/sub connection. Keeps the set of channels it should hold,
// subscribes to all of them again after every reconnect, and reports each
// subscription's confirmation, so that callers can wait until Redis will
// really deliver a channel's messages to them.
//
// Sharded (Redis Cluster): SSUBSCRIBE on one shard's primary, one channel
// per command, since one command's channels must share a slot. The server
// ends a channel's subscription by itself when its slot moves away
// (sunsubscribe) or refuses one for a slot it does not serve (MOVED): both
// go to on_lost, whose owner routes the channel again.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/redis/client.hpp"

namespace switchboard::redis {

class channel_subscriber {
 public:
  using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;

  channel_subscriber(asio::any_io_executor ex, client_options options, message_handler on_message,
                     bool sharded = false);

  // Every wanted channel confirmed after a (re)connect; once per connect.
  std::function<void()> on_ready;
  // The connection was lost: no channel is held until on_ready again.
  std::function<void()> on_down;
  // Sharded: the server no longer holds (or would not take) a wanted
  // channel; it is no longer wanted here.
  std::function<void(const std::string& channel)> on_lost;

  void start() { client_.start(); }
  // Every wanted channel, for a new owner when this one goes.
  std::vector<std::string> wanted() const;
  void stop() { client_.stop(); }

  // Completes when Redis confirms the subscription; with errc::unavailable
  // when the connection is down or goes down first.
  asio::awaitable<error_code> subscribe(std::string channel);
  void unsubscribe(const std::string& channel);
  // Drops the connection; it reconnects and resubscribes by itself.
  void reconnect();

  // Connected, and every wanted channel confirmed.
  // Connected, and every channel held before the last (re)connect confirmed
  // again. Channels subscribed since do not count: their callers wait for
  // their own confirmation.
  bool is_ready() const { return client_.is_up() && synced_; }
  bool is_connected() const { return client_.is_up(); }
  // The server it is subscribed on ("host:port"); empty while down.
  std::string peer() const { return client_.peer(); }
  std::size_t channels() const;
  // `channel` is wanted and Redis has confirmed it.
  bool holds(const std::string& channel) const;
  std::uint64_t reconnects() const { return client_.reconnects(); }

 private:
  struct channel_state {
    bool wanted = true;
    bool confirmed = false;
    int outstanding = 0;  // SUBSCRIBEs sent and not yet confirmed
    std::vector<asio::any_completion_handler<void(error_code)>> waiters;
  };

  void handle_push(reply_ptr reply);
  // A sharded channel the server dropped or refused.
  void lose(const std::string& channel);
  void handle_up();
  void handle_down();
  void confirm(std::string_view channel);
  void release_waiters(channel_state& state, error_code ec);
  void recount();
  void signal_ready();

  asio::any_io_executor ex_;
  client client_;
  message_handler on_message_;
  std::unordered_map<std::string, channel_state> channels_;
  std::size_t unconfirmed_ = 0;  // wanted channels not confirmed yet
  bool synced_ = false;          // resubscribed after the last connect
  bool sharded_;
  // SUBSCRIBE or SSUBSCRIBE, and the push kinds that go with them.
  std::string_view subscribe_, unsubscribe_, message_kind_, subscribe_kind_, unsubscribe_kind_;
};

}  // namespace switchboard::redis
