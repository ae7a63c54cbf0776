#pragma once
// Room presence in Redis, typed: callers say who joined or left which room;
// the key names (redis_keys) and how writes are grouped into transactions
// live here alone. Layout (see docs/architecture.md):
//
//   <prefix>room-workers:{<room>}                workers with members in the room
//   <prefix>room-members:{<room>}:<worker>       that worker's members of the room
//   <prefix>{registry}worker-rooms:<worker>      rooms the worker has members in
//
// A room's two sets share its slot and change in one transaction; the
// worker's list of rooms is in another slot and written beside it.
//
// members() reads only the sets of workers whose liveness entry exists, so
// a dead worker's members vanish as soon as its entry expires; sweep() then
// deletes what it left behind.
//
// Writes go over pooled connections, so two writes for one room could reach
// Redis out of order (a leave overtaking the join before it). Each room's
// writes therefore pass through its lane, one at a time, in call order.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/keyed_lanes.hpp"
#include "common/net.hpp"
#include "common/redis/router.hpp"
#include "common/protocol/redis_keys.hpp"

namespace switchboard {

// A member as the store keeps it: the connection id, then, for a
// connection with a user, a space and the user id (ids hold no space).
struct presence_member {
  std::string id;
  std::string user;  // empty for an anonymous connection

  std::string encoded() const { return user.empty() ? id : id + ' ' + user; }
  static presence_member decoded(std::string_view entry) {
    auto space = entry.find(' ');
    if (space == std::string_view::npos) return {std::string(entry), {}};
    return {std::string(entry.substr(0, space)), std::string(entry.substr(space + 1))};
  }
};

class presence_store {
 public:
  // The members (presence_member::encoded) this worker holds in a room,
  // read when a write leaves. Every `id` below is such an encoded member.
  using local_members = std::function<std::vector<std::string>()>;

  // `lanes`: rooms written side by side; the pool's size, as more cannot
  // be in flight at once.
  presence_store(asio::any_io_executor ex, redis::router& pool, const redis_keys& keys, std::string worker_key,
                 std::size_t lanes);

  const std::string& worker_key() const { return worker_key_; }

  // `id` on this worker joined `room`.
  asio::awaitable<error_code> add(std::string room, std::string id);
  // `id` left `room`; `last`: this worker has no member of it left.
  asio::awaitable<error_code> remove(std::string room, std::string id, bool last);
  // Makes this worker's presence in `room` what `local` returns once the
  // write is ready to leave (none: the room is dropped for this worker).
  asio::awaitable<error_code> replace(std::string room, local_members local);

  // The rooms Redis lists for this worker; nullopt when Redis failed.
  asio::awaitable<std::optional<std::vector<std::string>>> listed_rooms();
  // Every member of `room` on live workers, sorted; nullopt when Redis failed.
  asio::awaitable<std::optional<std::vector<std::string>>> members(const std::string& room);

  // Rooms with a member on any of `workers`; nullopt when Redis failed.
  asio::awaitable<std::optional<std::size_t>> room_count(const std::vector<std::string>& workers);

  // What sweep() did: how many rooms it cleaned (0 when none or the worker
  // is alive again), or a failure.
  struct sweep_result {
    error_code ec;
    long long rooms = 0;
    // (room, encoded member) for every member removed, to announce.
    std::vector<std::pair<std::string, std::string>> departed;
  };
  // Deletes what dead worker `worker_key` left, unless it has come back.
  asio::awaitable<sweep_result> sweep(const std::string& worker_key);

 private:
  using writes = std::vector<std::vector<std::string>>;
  enum class listed { unchanged, added, removed };
  // One membership change: the room's sets, in one transaction, and whether
  // the room joins or leaves the worker's list of rooms.
  struct room_write {
    writes room;
    listed holds = listed::unchanged;
  };
  // Writes what `build` returns in the room's lane; `build` runs once the
  // lane is ours.
  asio::awaitable<error_code> write_room(std::string room, std::function<room_write()> build);

  redis::router& pool_;
  const redis_keys& keys_;
  std::string worker_key_;
  keyed_lanes lanes_;
};

}  // namespace switchboard
