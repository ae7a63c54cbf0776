#pragma once
// The one publish path: client requests and the backend alike hand it a
// message; it builds the frame every recipient gets and the envelope around
// it once, picks the channel, and publishes through the bus, whose gate
// refuses (unavailable) whenever an acknowledged message could be lost.
//
// A message to a room that keeps history (a personal room too, for a user
// message) is stored and published in one step by the history store's
// script instead of the bus's PUBLISH, and its position comes back.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "common/protocol/frames.hpp"
#include "common/protocol/redis_keys.hpp"
#include "common/protocol/stream_position.hpp"
#include "server/cluster/bus.hpp"
#include "server/cluster/history_store.hpp"

namespace switchboard {

// What a sender asks to deliver. `target` is the recipient id (direct) or
// the room (room), empty for broadcast; `data` is JSON text; `from_user` is
// the sender's user id, empty for an anonymous sender.
struct outbound_message {
  protocol::scope scope{};
  std::string_view from;
  std::string_view target;
  std::string_view data;
  std::string_view from_user{};
};

// A publish's outcome: an empty `ec` once the broker has taken the message
// (or at once for a message that reaches nobody), else errc::unavailable
// and nothing was sent; `stored`: where a message to a room with history
// was stored.
struct publish_result {
  error_code ec;
  std::optional<protocol::stream_position> stored;
};

class publisher {
 public:
  publisher(bus& b, history_store& history, const redis_keys& keys, metrics::worker_metrics& counters)
      : bus_(b), history_(history), keys_(keys), metrics_(counters) {}

  // Whether a message can reach anyone (redis_keys::channel_for has a
  // channel for it), without building the channel:
  // a sender answers one that cannot at once, without a round trip.
  static bool reaches_anyone(protocol::scope scope, std::string_view target);

  asio::awaitable<publish_result> publish(const outbound_message& m);
  // Connection `id` (of `user`, empty when anonymous) joined or left `room`:
  // one PUBLISH on the room's channel, whatever the room's size; every
  // worker hands it to its watchers of the room.
  asio::awaitable<error_code> publish_member_event(bool joined, std::string_view room, std::string_view id,
                                                   std::string_view user);
  // Every message, in order, in one step: all are taken or none. Messages
  // that reach nobody (a direct to an id no worker hands out) are skipped.
  // `stored` gets one entry per message: its place, for a stored one.
  asio::awaitable<error_code> publish_all(std::span<const outbound_message> messages,
                                          std::vector<std::optional<protocol::stream_position>>& stored);

 private:
  // The history room `m` goes to, when it goes to one that keeps history.
  std::optional<std::string> history_room(const outbound_message& m) const;
  history_store::stored_message stored(const outbound_message& m, std::string room, std::string channel) const;

  bus& bus_;
  history_store& history_;
  const redis_keys& keys_;
  metrics::worker_metrics& metrics_;
};

}  // namespace switchboard
