#include "server/room_service.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "server/ws_session.hpp"

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

template <typename Work>
void spawn(redis::client& commands, Work work) {
  asio::co_spawn(commands.executor(), std::move(work), [](std::exception_ptr e, auto&&...) {
    if (e) log::error("room bookkeeping failed");
  });
}

}  // namespace

room_service::room_service(const config& cfg, const redis_keys& keys, std::string worker_key, hub& local,
                           redis::client& commands, redis::subscriber& subscriber)
    : cfg_(cfg),
      keys_(keys),
      worker_key_(std::move(worker_key)),
      hub_(local),
      commands_(commands),
      subscriber_(subscriber) {}

asio::awaitable<std::optional<protocol::error_kind>> room_service::join(ws_session& session,
                                                                        const std::string& room) {
  auto& rooms = session.rooms();
  if (std::find(rooms.begin(), rooms.end(), room) != rooms.end()) co_return std::nullopt;
  if (rooms.size() >= cfg_.max_rooms_per_connection) co_return protocol::error_kind::too_many_rooms;
  if (!commands_.is_up() || !subscriber_.is_connected()) co_return protocol::error_kind::unavailable;

  // Member locally first: a message that reaches the worker from now on
  // reaches this session, so nothing sent after the ack can be missed.
  rooms.push_back(room);
  hub_.join(room, session);
  std::string channel = keys_.room_channel(room);
  error_code ec = co_await subscriber_.subscribe(channel);
  if (!ec) {
    std::vector<std::vector<std::string>> writes{
        {"SADD", keys_.room_members(worker_key_, room), session.id()},
        {"SADD", keys_.room_workers(room), worker_key_},
        {"SADD", keys_.worker_rooms(worker_key_), room}};
    std::tie(ec, std::ignore) = co_await commands_.transaction(writes);
  }
  if (!ec) co_return std::nullopt;

  // Undo, so that an error means nothing was done.
  rooms.erase(std::find(rooms.begin(), rooms.end(), room));
  bool last = hub_.leave(room, session);
  if (last) subscriber_.unsubscribe(channel);
  spawn(commands_, forget(session.id(), room, last));
  co_return protocol::error_kind::unavailable;
}

asio::awaitable<std::optional<protocol::error_kind>> room_service::leave(ws_session& session,
                                                                         const std::string& room) {
  auto& rooms = session.rooms();
  auto it = std::find(rooms.begin(), rooms.end(), room);
  if (it == rooms.end()) co_return std::nullopt;
  if (!commands_.is_up()) co_return protocol::error_kind::unavailable;
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
    spawn(commands_, forget(id, room, last));
  }
}

// Removes one membership from presence. A failure here (Redis gone) is
// repaired by restore() once this worker is registered again.
asio::awaitable<error_code> room_service::forget(std::string id, std::string room, bool last) {
  std::vector<std::vector<std::string>> writes{{"SREM", keys_.room_members(worker_key_, room), id}};
  if (last) {
    writes.push_back({"SREM", keys_.room_workers(room), worker_key_});
    writes.push_back({"SREM", keys_.worker_rooms(worker_key_), room});
  }
  auto [ec, reply] = co_await commands_.transaction(writes);
  co_return ec;
}

asio::awaitable<std::optional<std::vector<std::string>>> room_service::members(const std::string& room) {
  std::string workers_key = keys_.room_workers(room);
  auto [ec, workers] = co_await commands_.command("SMEMBERS", workers_key);
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
  auto [gec, alive] = co_await commands_.request(mget);
  if (gec || !alive || alive->type != REDIS_REPLY_ARRAY || alive->elements != names.size()) co_return std::nullopt;

  std::vector<std::string> member_keys;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (alive->element[i]->type == REDIS_REPLY_STRING) member_keys.push_back(keys_.room_members(names[i], room));
  if (member_keys.empty()) co_return out;
  std::vector<std::string_view> sunion{"SUNION"};
  sunion.insert(sunion.end(), member_keys.begin(), member_keys.end());
  auto [uec, ids] = co_await commands_.request(sunion);
  if (uec || !ids || ids->type != REDIS_REPLY_ARRAY) co_return std::nullopt;
  for (std::size_t i = 0; i < ids->elements; ++i) out.emplace_back(redis::text_of(*ids->element[i]));
  std::sort(out.begin(), out.end());
  co_return out;
}

void room_service::restore() { spawn(commands_, restore_all()); }

asio::awaitable<void> room_service::restore_all() {
  std::string worker_rooms = keys_.worker_rooms(worker_key_);
  auto [ec, listed] = co_await commands_.command("SMEMBERS", worker_rooms);
  if (ec || !listed || listed->type != REDIS_REPLY_ARRAY) co_return;

  // Built and appended to the pipe without a suspension in between, so the
  // joins and leaves that follow it in the pipe apply on top of it.
  std::vector<std::vector<std::string>> writes;
  for (std::size_t i = 0; i < listed->elements; ++i) {
    std::string room(redis::text_of(*listed->element[i]));
    if (hub_.rooms().contains(room)) continue;
    // Listed for us, but no local member any more.
    writes.push_back({"SREM", keys_.room_workers(room), worker_key_});
    writes.push_back({"DEL", keys_.room_members(worker_key_, room)});
    writes.push_back({"SREM", worker_rooms, room});
  }
  for (const auto& [room, sessions] : hub_.rooms()) {
    std::string members = keys_.room_members(worker_key_, room);
    writes.push_back({"DEL", members});
    std::vector<std::string> add{"SADD", members};
    for (const auto* session : sessions) add.push_back(session->id());
    writes.push_back(std::move(add));
    writes.push_back({"SADD", keys_.room_workers(room), worker_key_});
    writes.push_back({"SADD", worker_rooms, room});
  }
  if (!writes.empty()) co_await commands_.transaction(writes);
}

void room_service::sweep(const std::string& worker_key) {
  if (worker_key == worker_key_) return;
  spawn(commands_, run_sweep(worker_key));
}

asio::awaitable<void> room_service::run_sweep(std::string worker_key) {
  auto [ec, reply] = co_await commands_.command("EVAL", sweep_script, "0", keys_.prefix(), worker_key);
  if (ec) {
    log::warn("presence sweep of worker " + worker_key + " failed: " + ec.message());
  } else if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
    log::info("swept presence of dead worker " + worker_key + " from " + std::to_string(reply->integer) + " rooms");
  }
}

}  // namespace switchboard
