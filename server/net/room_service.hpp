#pragma once
// Rooms across the cluster: local membership in the hub, one Redis channel
// per room that a worker holds while it has local members, and presence
// kept in Redis:
//
//   <prefix>room-workers:<room>          workers with members in the room
//   <prefix>room-members:<worker>:<room> that worker's members of the room
//   <prefix>worker-rooms:<worker>        rooms the worker has members in
//
// Presence reads only the sets of workers whose liveness entry exists, so a
// dead worker's members vanish as soon as its entry expires; the sweep then
// deletes what it left behind.
//
// Writes go over pooled connections, so two writes for one room could reach
// Redis out of order (a leave overtaking the join before it). Each room's
// writes therefore pass through its lane, one at a time, in the order the
// hub changed.

#include <functional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"
#include "common/protocol/error.hpp"
#include "common/keyed_lanes.hpp"
#include "common/redis/client.hpp"
#include "common/redis/pool.hpp"
#include "common/redis/subscriber.hpp"
#include "server/net/hub.hpp"
#include "server/cluster/redis_keys.hpp"

namespace switchboard {

class ws_session;

class room_service {
 public:
  // `control` only tells whether Redis is reachable; commands go to `pool`.
  room_service(asio::any_io_executor ex, const config& cfg, const redis_keys& keys, std::string worker_key,
               hub& local, redis::pool& pool, const redis::client& control, redis::subscriber& subscriber);

  // Answers the request: nullopt when it succeeded, else the error to send.
  asio::awaitable<std::optional<protocol::error_kind>> join(ws_session& session, const std::string& room);
  asio::awaitable<std::optional<protocol::error_kind>> leave(ws_session& session, const std::string& room);
  // Every member of `room` on live workers, sorted; nullopt when Redis failed.
  asio::awaitable<std::optional<std::vector<std::string>>> members(const std::string& room);

  // The session is gone: leave all its rooms without waiting for Redis.
  void leave_all(const std::string& id, const std::vector<std::string>& rooms, ws_session& session);

  // Writes every local membership to Redis again (after Redis lost it).
  void restore();
  // Deletes what a dead worker left in Redis, unless it has come back.
  void sweep(const std::string& worker_key);

 private:
  using writes = std::vector<std::vector<std::string>>;
  // Runs the writes `build` returns as one transaction in the room's lane;
  // `build` runs once the lane and a connection are ours, so it sees the hub
  // as it is when the writes leave.
  asio::awaitable<error_code> write_room(std::string room, std::function<writes()> build);
  asio::awaitable<error_code> forget(std::string id, std::string room, bool last);
  asio::awaitable<void> restore_all();
  // Makes the room's presence for this worker what the hub holds now.
  writes sync_writes(const std::string& room) const;
  asio::awaitable<void> run_sweep(std::string worker_key);
  template <typename Work>
  void spawn(Work work);

  asio::any_io_executor ex_;
  const config& cfg_;
  const redis_keys& keys_;
  std::string worker_key_;
  hub& hub_;
  redis::pool& pool_;
  const redis::client& control_;
  redis::subscriber& subscriber_;
  keyed_lanes lanes_;
};

}  // namespace switchboard
