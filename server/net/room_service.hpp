#pragma once
// Rooms across the cluster, from this worker's side: local membership in
// the hub, one Redis channel per room that the worker holds while it has
// local members, and presence in Redis through the presence store.

#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"
#include "common/protocol/error.hpp"
#include "common/redis/client.hpp"
#include "common/redis/subscriber.hpp"
#include "server/cluster/presence_store.hpp"
#include "server/cluster/publisher.hpp"
#include "common/protocol/redis_keys.hpp"
#include "server/net/hub.hpp"
#include "server/net/recipient.hpp"

namespace switchboard {

class room_service {
 public:
  // `control` only tells whether Redis is reachable; presence goes to `presence`.
  // Member events go out through `messages`.
  room_service(asio::any_io_executor ex, const config& cfg, const redis_keys& keys, hub& local,
               presence_store& presence, publisher& messages, const redis::client& control,
               redis::subscriber& subscriber);

  // Answers the request: nullopt when it succeeded, else the error to send.
  // `events`: `who` also hears when others join and leave. Every join and
  // leave (by request, by close, by refresh, by a dead worker's sweep) is
  // announced as a member event once presence has it.
  asio::awaitable<std::optional<protocol::error_kind>> join(recipient& who, const std::string& room,
                                                            bool events = false);
  asio::awaitable<std::optional<protocol::error_kind>> leave(recipient& who, const std::string& room);
  // Every member of `room` on live workers, sorted by id; nullopt when
  // Redis failed.
  asio::awaitable<std::optional<std::vector<presence_member>>> members(const std::string& room);

  // The recipient is going: leave all its rooms without waiting for Redis.
  void leave_all(recipient& who);
  // The recipient may no longer be in `rooms`: it leaves them at once,
  // whether Redis is up or not, and the call completes once presence has
  // followed (or failed to: restore() repairs it once Redis is back).
  asio::awaitable<void> evict(recipient& who, std::vector<std::string> rooms);

  // Writes every local membership to Redis again (after Redis lost it).
  void restore();
  // Deletes what a dead worker left in Redis, unless it has come back.
  void sweep(const std::string& worker_key);

 private:
  // Out of the room on this worker, and out of its channel after the last
  // local member; true when it was the last.
  bool leave_here(recipient& who, const std::string& room);
  // Presence follows a local leave; `announce`: then the member event.
  asio::awaitable<void> depart(std::string room, std::string id, std::string user, bool last, bool announce);
  // Leaves locally at once; the Redis side follows in the background.
  void leave_locally(recipient& who, const std::string& room);
  asio::awaitable<void> restore_all();
  asio::awaitable<void> run_sweep(std::string worker_key);

  asio::any_io_executor ex_;
  const config& cfg_;
  const redis_keys& keys_;
  hub& hub_;
  presence_store& presence_;
  publisher& messages_;
  const redis::client& control_;
  redis::subscriber& subscriber_;
};

}  // namespace switchboard
