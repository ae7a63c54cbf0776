#pragma once
// The one publish path: client requests and the backend alike hand it a
// message; it builds the frame every recipient gets and the envelope around
// it once, picks the channel, and publishes through the bus, whose gate
// refuses (unavailable) whenever an acknowledged message could be lost.
//
// Rooms with history will plug in here: publish() of such a room stores and
// publishes in one atomic step (XADD and PUBLISH in one script) instead of
// the bus's PUBLISH, and returns the offset; callers do not change.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "common/protocol/frames.hpp"
#include "server/cluster/bus.hpp"
#include "common/protocol/redis_keys.hpp"

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

class publisher {
 public:
  publisher(bus& b, const redis_keys& keys) : bus_(b), keys_(keys) {}

  // Whether a message can reach anyone (redis_keys::channel_for has a
  // channel for it), without building the channel:
  // a sender answers one that cannot at once, without a round trip.
  static bool reaches_anyone(protocol::scope scope, std::string_view target);

  // Publishes `m`: an empty error_code once the broker has taken it (or, for
  // a message with no channel, at once: it reaches nobody), else
  // errc::unavailable and nothing was sent.
  asio::awaitable<error_code> publish(const outbound_message& m);
  // Connection `id` (of `user`, empty when anonymous) joined or left `room`:
  // one PUBLISH on the room's channel, whatever the room's size; every
  // worker hands it to its watchers of the room.
  asio::awaitable<error_code> publish_member_event(bool joined, std::string_view room, std::string_view id,
                                                   std::string_view user);
  // Every message, in order, in one step: all are taken or none. Messages
  // that reach nobody (a direct to an id no worker hands out) are skipped.
  asio::awaitable<error_code> publish_all(std::span<const outbound_message> messages);

 private:
  bus& bus_;
  const redis_keys& keys_;
};

}  // namespace switchboard
