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
#include "server/cluster/history_store.hpp"
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
               presence_store& presence, history_store& history, publisher& messages, const redis::client& control,
               redis::subscriber& subscriber);

  // What a join of a room with history found: the room's place now, and,
  // when the join's `since` could be recovered, the stored messages after
  // it (oldest first). Until release(), the room's live messages for the
  // joiner are held back: the caller sends the ack, then `frames`, then
  // releases, which sends the live ones the read had not given.
  struct recovery {
    protocol::stream_position now;
    std::optional<protocol::recovery_outcome> outcome;  // with a since only
    std::vector<std::string> frames;
  };
  struct join_result {
    std::optional<protocol::error_kind> error;  // nothing was done
    std::optional<recovery> history;            // the room keeps history
  };

  // `events`: `who` also hears when others join and leave. Every join and
  // leave (by request, by close, by refresh, by a dead worker's sweep) is
  // announced as a member event once presence has it. One's own personal
  // room (the caller checks whose it is) is joined already: the join only
  // recovers. docs/architecture.md, "Recovery", says why nothing is lost or
  // repeated between the stored messages and the live ones.
  asio::awaitable<join_result> join(recipient& who, const std::string& room, bool events = false,
                                    std::optional<protocol::stream_position> since = std::nullopt);
  // Ends a hold that join() began: sends the held live messages after `after`.
  void release(recipient& who, const std::string& room, std::uint64_t after) { hub_.release(room, who, after); }
  // A connection whose personal room keeps history is held there from its
  // welcome until its first request (PROTOCOL.md deviation, docs/protocol.md):
  // so that a join of it with since gets the missed messages before the
  // live ones.
  // True when it is held.
  bool hold_personal(recipient& who);
  // Its first request was not that join: what was held goes out now.
  void release_personal(recipient& who);
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
  asio::awaitable<join_result> recover_personal(recipient& who, const std::string& room,
                                                std::optional<protocol::stream_position> since);
  // The read of a join: the room's place, and the messages after `since`.
  asio::awaitable<join_result> read_history(const std::string& room,
                                            const std::optional<protocol::stream_position>& since);

  asio::any_io_executor ex_;
  const config& cfg_;
  const redis_keys& keys_;
  hub& hub_;
  presence_store& presence_;
  history_store& history_;
  publisher& messages_;
  const redis::client& control_;
  redis::subscriber& subscriber_;
};

}  // namespace switchboard
