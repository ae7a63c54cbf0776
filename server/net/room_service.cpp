#include "server/net/room_service.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "common/log.hpp"
#include "server/net/ws_session.hpp"

namespace switchboard {
namespace {

// Deletes a dead worker's presence, atomically and only if its liveness
// entry is still absent: a worker that came back meanwhile keeps what it
// has just restored. ARGV: prefix, worker key.
constexpr std::string_view sweep_script = R"lua(
local prefix, worker = ARGV[1], ARGV[2]
if redis.call('EXISTS', prefix .. 'worker:' .. worker) == 1 then return -1 end
local rooms = redis.call('SMEMBERS', prefix .. 'worker-rooms:' .. worker)
for _, room in ipairs(rooms) do
  redis.call('SREM', prefix .. 'room-workers:' .. room, worker)
  redis.call('DEL', prefix .. 'room-members:' .. worker .. ':' .. room)
end
redis.call('DEL', prefix .. 'worker-rooms:' .. worker)
return #rooms
)lua";

}  // namespace

room_service::room_service(asio::any_io_executor ex, const config& cfg, const redis_keys& keys,
                           std::string worker_key, hub& local, redis::pool& pool, const redis::client& control,
                           redis::subscriber& subscriber)
    : ex_(ex),
      cfg_(cfg),
      keys_(keys),
      worker_key_(std::move(worker_key)),
      hub_(local),
      pool_(pool),
      control_(control),
      subscriber_(subscriber),
      lanes_(ex, cfg.redis_pool_size) {}

template <typename Work>
void room_service::spawn(Work work) {
  asio::co_spawn(ex_, std::move(work), [](std::exception_ptr e, auto&&...) {
    if (e) log::error("room bookkeeping failed");
  });
}

asio::awaitable<error_code> room_service::write_room(std::string room, std::function<writes()> build) {
  auto lane = co_await lanes_.enter(room);
  auto [aec, conn] = co_await pool_.acquire();
  if (aec) co_return aec;
  auto batch = build();
  if (batch.empty()) co_return error_code{};
  auto [ec, reply] = co_await conn->transaction(batch);
  co_return ec;
}

asio::awaitable<std::optional<protocol::error_kind>> room_service::join(ws_session& session,
                                                                        const std::string& room) {
  auto& rooms = session.rooms();
  if (std::find(rooms.begin(), rooms.end(), room) != rooms.end()) co_return std::nullopt;
  if (rooms.size() >= cfg_.max_rooms_per_connection) co_return protocol::error_kind::too_many_rooms;
  if (!control_.is_up() || !subscriber_.is_connected()) co_return protocol::error_kind::unavailable;

  // Member locally first: a message that reaches the worker from now on
  // reaches this session, so nothing sent after the ack can be missed.
  rooms.push_back(room);
  hub_.join(room, session);
  std::string channel = keys_.room_channel(room);
  error_code ec = co_await subscriber_.subscribe(channel);
  if (!ec) {
    writes batch{{"SADD", keys_.room_members(worker_key_, room), session.id()},
                 {"SADD", keys_.room_workers(room), worker_key_},
                 {"SADD", keys_.worker_rooms(worker_key_), room}};
    ec = co_await write_room(room, [&batch] { return std::move(batch); });
  }
  if (!ec) co_return std::nullopt;

  // Undo, so that an error means nothing was done.
  rooms.erase(std::find(rooms.begin(), rooms.end(), room));
  bool last = hub_.leave(room, session);
  if (last) subscriber_.unsubscribe(channel);
  spawn(forget(session.id(), room, last));
  co_return protocol::error_kind::unavailable;
}

asio::awaitable<std::optional<protocol::error_kind>> room_service::leave(ws_session& session,
                                                                         const std::string& room) {
  auto& rooms = session.rooms();
  auto it = std::find(rooms.begin(), rooms.end(), room);
  if (it == rooms.end()) co_return std::nullopt;
  if (!control_.is_up()) co_return protocol::error_kind::unavailable;
  rooms.erase(it);
  bool last = hub_.leave(room, session);
  if (last) subscriber_.unsubscribe(keys_.room_channel(room));
  // Locally the session has left either way; if Redis failed, restore()
  // rewrites presence from local truth once this worker is registered again.
  if (co_await forget(session.id(), room, last)) co_return protocol::error_kind::unavailable;
  co_return std::nullopt;
}

void room_service::leave_all(const std::string& id, const std::vector<std::string>& rooms, ws_session& session) {
  for (const auto& room : rooms) {
    bool last = hub_.leave(room, session);
    if (last) subscriber_.unsubscribe(keys_.room_channel(room));
    spawn(forget(id, room, last));
  }
}

// Removes one membership from presence. A failure here (Redis gone) is
// repaired by restore() once this worker is registered again.
asio::awaitable<error_code> room_service::forget(std::string id, std::string room, bool last) {
  writes batch{{"SREM", keys_.room_members(worker_key_, room), id}};
  if (last) {
    batch.push_back({"SREM", keys_.room_workers(room), worker_key_});
    batch.push_back({"SREM", keys_.worker_rooms(worker_key_), room});
  }
  co_return co_await write_room(room, [&batch] { return std::move(batch); });
}

asio::awaitable<std::optional<std::vector<std::string>>> room_service::members(const std::string& room) {
  auto [aec, conn] = co_await pool_.acquire();
  if (aec) co_return std::nullopt;
  std::string workers_key = keys_.room_workers(room);
  std::array<std::string_view, 2> smembers{"SMEMBERS", workers_key};
  auto [ec, workers] = co_await conn->request(smembers);
  if (ec || !workers || workers->type != REDIS_REPLY_ARRAY) co_return std::nullopt;
  std::vector<std::string> out;
  if (workers->elements == 0) co_return out;

  // Only workers whose liveness entry exists count: a dead one's members
  // are gone from presence the moment its entry expires.
  std::vector<std::string> names;
  std::vector<std::string> entries;
  for (std::size_t i = 0; i < workers->elements; ++i) {
    names.emplace_back(redis::text_of(*workers->element[i]));
    entries.push_back(keys_.worker_entry(names.back()));
  }
  std::vector<std::string_view> mget{"MGET"};
  mget.insert(mget.end(), entries.begin(), entries.end());
  auto [gec, alive] = co_await conn->request(mget);
  if (gec || !alive || alive->type != REDIS_REPLY_ARRAY || alive->elements != names.size()) co_return std::nullopt;

  std::vector<std::string> member_keys;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (alive->element[i]->type == REDIS_REPLY_STRING) member_keys.push_back(keys_.room_members(names[i], room));
  if (member_keys.empty()) co_return out;
  std::vector<std::string_view> sunion{"SUNION"};
  sunion.insert(sunion.end(), member_keys.begin(), member_keys.end());
  auto [uec, ids] = co_await conn->request(sunion);
  if (uec || !ids || ids->type != REDIS_REPLY_ARRAY) co_return std::nullopt;
  for (std::size_t i = 0; i < ids->elements; ++i) out.emplace_back(redis::text_of(*ids->element[i]));
  std::sort(out.begin(), out.end());
  co_return out;
}

void room_service::restore() { spawn(restore_all()); }

asio::awaitable<void> room_service::restore_all() {
  std::set<std::string> rooms;
  std::string worker_rooms = keys_.worker_rooms(worker_key_);
  auto [ec, listed] = co_await pool_.command("SMEMBERS", worker_rooms);
  if (ec || !listed || listed->type != REDIS_REPLY_ARRAY) co_return;
  for (std::size_t i = 0; i < listed->elements; ++i) rooms.emplace(redis::text_of(*listed->element[i]));
  for (const auto& [room, sessions] : hub_.rooms()) rooms.insert(room);
  for (const auto& room : rooms) spawn(write_room(room, [this, room] { return sync_writes(room); }));
}

room_service::writes room_service::sync_writes(const std::string& room) const {
  std::string members = keys_.room_members(worker_key_, room);
  auto local = hub_.rooms().find(room);
  if (local == hub_.rooms().end())  // listed for us, but no local member any more
    return {{"SREM", keys_.room_workers(room), worker_key_},
            {"DEL", members},
            {"SREM", keys_.worker_rooms(worker_key_), room}};
  std::vector<std::string> add{"SADD", members};
  for (const auto* session : local->second) add.push_back(session->id());
  return {{"DEL", members}, std::move(add), {"SADD", keys_.room_workers(room), worker_key_},
          {"SADD", keys_.worker_rooms(worker_key_), room}};
}

void room_service::sweep(const std::string& worker_key) {
  if (worker_key == worker_key_) return;
  spawn(run_sweep(worker_key));
}

asio::awaitable<void> room_service::run_sweep(std::string worker_key) {
  auto [ec, reply] = co_await pool_.command("EVAL", sweep_script, "0", keys_.prefix(), worker_key);
  if (ec) {
    log::warn("presence sweep of worker " + worker_key + " failed: " + ec.message());
  } else if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
    log::info("swept presence of dead worker " + worker_key + " from " + std::to_string(reply->integer) + " rooms");
  }
}

}  // namespace switchboard
