#pragma once
// Every Redis key and channel name the cluster uses, in one place. All start
// with the configured prefix, so several clusters can share one Redis. The
// channels are part of the public bus format (docs/protocol.md, "Publishing
// without HTTP"): a program that writes envelopes to them publishes.

#include <string>
#include <string_view>

namespace switchboard {

class redis_keys {
 public:
  explicit redis_keys(std::string prefix) : prefix_(std::move(prefix)) {}

  // Channels.
  std::string broadcast_channel() const { return join("broadcast"); }
  std::string direct_channel(std::string_view worker) const { return join("direct:", worker); }
  std::string room_channel(std::string_view room) const { return join("room:", room); }
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
