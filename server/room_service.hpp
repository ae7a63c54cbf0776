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

#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"
#include "common/protocol/error.hpp"
#include "common/redis/client.hpp"
#include "common/redis/subscriber.hpp"
#include "server/hub.hpp"
#include "server/redis_keys.hpp"

namespace switchboard {

class ws_session;

class room_service {
 public:
  room_service(const config& cfg, const redis_keys& keys, std::string worker_key, hub& local, redis::client& commands,
               redis::subscriber& subscriber);

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
  asio::awaitable<error_code> forget(std::string id, std::string room, bool last);
  asio::awaitable<void> restore_all();
  asio::awaitable<void> run_sweep(std::string worker_key);

  const config& cfg_;
  const redis_keys& keys_;
  std::string worker_key_;
  hub& hub_;
  redis::client& commands_;
  redis::subscriber& subscriber_;
};

}  // namespace switchboard
