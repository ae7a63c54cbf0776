#pragma once
// Every Redis key and channel name the cluster uses, in one place. All start
// with the configured prefix, so several clusters can share one Redis. The
// channels are part of the public bus format (docs/protocol.md, "Publishing
// without HTTP"): a program that writes envelopes to them publishes.
//
// Keys and channels used together carry the same hash tag (the text between
// the first '{' and the next '}'), so that under Redis Cluster they live in
// one slot and no transaction or script fails with CROSSSLOT: a room's keys
// and channel are tagged {<room>}, a worker's channels {<worker>}, and the
// liveness registry with the rooms each worker holds {registry}. One layout
// for every topology (docs/architecture.md, "Redis keys").

#include <optional>
#include <string>
#include <string_view>

#include "common/protocol/client_id.hpp"
#include "common/protocol/frames.hpp"
#include "common/protocol/request.hpp"

namespace switchboard {

class redis_keys {
 public:
  explicit redis_keys(std::string prefix) : prefix_(std::move(prefix)) {}

  // Channels.
  std::string broadcast_channel() const { return join("broadcast"); }
  std::string direct_channel(std::string_view worker) const { return tagged("direct:", worker); }
  std::string room_channel(std::string_view room) const { return tagged("room:", room); }
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
  std::string probe_channel(std::string_view worker) const { return tagged("probe:", worker); }
  // A new worker says hello here before it welcomes its first client; in
  // the registry's slot, where the control connection publishes it.
  std::string hello_channel() const { return join("{registry}hello"); }

  // Liveness: the set of worker keys, and one expiring entry per worker;
  // read together (MGET), so all in the registry's slot.
  std::string workers() const { return join("{registry}workers"); }
  std::string worker_entry(std::string_view worker) const { return join("{registry}worker:", worker); }
  // What a worker last reported of itself (node, index, connections), for
  // GET /api/stats; it expires with the entry.
  std::string worker_stats(std::string_view worker) const { return join("{registry}worker-stats:", worker); }

  // Presence. A room's two kinds of sets share the room's tag; the worker
  // key (fixed length) ends the member set's name, so no room name can make
  // two keys collide. The rooms a worker holds sit in the registry's slot,
  // beside the entry whose absence lets the sweep take them.
  std::string room_workers(std::string_view room) const { return tagged("room-workers:", room); }
  std::string room_members(std::string_view worker, std::string_view room) const {
    return tagged("room-members:", room) + ":" + std::string(worker);
  }
  std::string worker_rooms(std::string_view worker) const { return join("{registry}worker-rooms:", worker); }

  // History of a room that keeps it (personal rooms by their name, user:U):
  // a stream of its stored frames, whose entry ids are the offsets, and a
  // hash beside it with the room's epoch and last offset.
  // Both share the room's tag with its channel: the history script touches
  // all three. A personal room's messages go out on the users channel, so
  // its keys carry that channel's name as their tag: {<prefix>users}, whose
  // slot is the channel's (the channel has no tag of its own).
  std::string history_stream(std::string_view room) const { return history_key("history:", room); }
  std::string history_meta(std::string_view room) const { return history_key("history-meta:", room); }

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

  // kind, then name as a hash tag. Redis reads a tag up to the first '}', so
  // a name holding '}' is still one tag for all its keys; only a name that
  // starts with '}' gives an empty tag, and Redis then hashes whole keys.
  std::string tagged(std::string_view kind, std::string_view name) const {
    std::string out = join(kind);
    out.reserve(out.size() + name.size() + 2);
    out += '{';
    out += name;
    out += '}';
    return out;
  }

  std::string history_key(std::string_view kind, std::string_view room) const {
    if (!protocol::personal_room_user(room)) return tagged(kind, room);
    std::string out = join(kind);
    out += '{';
    out += users_channel();
    out += '}';
    out += room;
    return out;
  }

  std::string prefix_;
};

}  // namespace switchboard
