#pragma once
// Every Redis key and channel name the cluster uses, in one place. All start
// with the configured prefix, so several clusters can share one Redis. The
// channels are part of the public bus format (docs/protocol.md, "Publishing
// without HTTP"): a program that writes envelopes to them publishes.

#include <optional>
#include <string>
#include <string_view>

#include "common/protocol/client_id.hpp"
#include "common/protocol/frames.hpp"

namespace switchboard {

class redis_keys {
 public:
  explicit redis_keys(std::string prefix) : prefix_(std::move(prefix)) {}

  // Channels.
  std::string broadcast_channel() const { return join("broadcast"); }
  std::string direct_channel(std::string_view worker) const { return join("direct:", worker); }
  std::string room_channel(std::string_view room) const { return join("room:", room); }
  // The channel an envelope of `kind` for `target` goes to (the one routing
  // rule, for the workers and for programs that publish without HTTP);
  // nullopt for a direct message to an id no worker hands out, which
  // reaches nobody.
  std::optional<std::string> channel_for(protocol::scope kind, std::string_view target) const {
    switch (kind) {
      case protocol::scope::broadcast: return broadcast_channel();
      case protocol::scope::room: return room_channel(target);
      case protocol::scope::user: return users_channel();
      // "<id> <room>": the room's channel, where its watchers are.
      case protocol::scope::member: return room_channel(target.substr(target.find(' ') + 1));
      case protocol::scope::direct:
        // A client id names the worker that owns it: only that one is told.
        if (auto worker = protocol::worker_key_of(target)) return direct_channel(*worker);
        return std::nullopt;
    }
    return std::nullopt;
  }

  // Every worker listens here; each delivers to its own connections of the
  // user the envelope names, so a personal room costs no subscription.
  std::string users_channel() const { return join("users"); }
  // Orders every worker carries out: disconnect (protocol/disconnect.hpp).
  std::string control_channel() const { return join("control"); }
  std::string probe_channel(std::string_view worker) const { return join("probe:", worker); }
  // A new worker says hello here before it welcomes its first client.
  std::string hello_channel() const { return join("hello"); }

  // Liveness: the set of worker keys, and one expiring entry per worker.
  std::string workers() const { return join("workers"); }
  std::string worker_entry(std::string_view worker) const { return join("worker:", worker); }
  // What a worker last reported of itself (node, index, connections), for
  // GET /api/stats; it expires with the entry.
  std::string worker_stats(std::string_view worker) const { return join("worker-stats:", worker); }

  // Presence. The worker key (fixed length) comes before the room name, so
  // no room name can make two keys collide.
  std::string room_workers(std::string_view room) const { return join("room-workers:", room); }
  std::string room_members(std::string_view worker, std::string_view room) const {
    return join("room-members:", worker) + ":" + std::string(room);
  }
  std::string worker_rooms(std::string_view worker) const { return join("worker-rooms:", worker); }

  // History of a room that keeps it (personal rooms by their name, user:U):
  // a stream of its stored frames, whose entry ids are the offsets, and a
  // hash beside it with the room's epoch and last offset.
  std::string history_stream(std::string_view room) const { return join("history:", room); }
  std::string history_meta(std::string_view room) const { return join("history-meta:", room); }

  const std::string& prefix() const { return prefix_; }

 private:
  std::string join(std::string_view kind, std::string_view name = {}) const {
    std::string out;
    out.reserve(prefix_.size() + kind.size() + name.size());
    out += prefix_;
    out += kind;
    out += name;
    return out;
  }

  std::string prefix_;
};

}  // namespace switchboard
