#include "server/cluster/presence_store.hpp"

#include <algorithm>
#include <array>

namespace switchboard {
namespace {

// Deletes a dead worker's presence, atomically and only if its liveness
// entry is still absent: a worker that came back meanwhile keeps what it
// has just restored. ARGV: prefix, worker key.
// Returns the number of rooms swept, then each member it removed as a room
// and a member; {-1} when the worker is alive again. One script, so two
// workers that sweep at once cannot both remove (and both announce) a member.
constexpr std::string_view sweep_script = R"lua(
local prefix, worker = ARGV[1], ARGV[2]
if redis.call('EXISTS', prefix .. 'worker:' .. worker) == 1 then return {-1} end
local rooms = redis.call('SMEMBERS', prefix .. 'worker-rooms:' .. worker)
local out = {#rooms}
for _, room in ipairs(rooms) do
  local members = prefix .. 'room-members:' .. worker .. ':' .. room
  for _, member in ipairs(redis.call('SMEMBERS', members)) do
    out[#out + 1] = room
    out[#out + 1] = member
  end
  redis.call('SREM', prefix .. 'room-workers:' .. room, worker)
  redis.call('DEL', members)
end
redis.call('DEL', prefix .. 'worker-rooms:' .. worker)
return out
)lua";

}  // namespace

presence_store::presence_store(asio::any_io_executor ex, redis::pool& pool, const redis_keys& keys,
                               std::string worker_key, std::size_t lanes)
    : pool_(pool), keys_(keys), worker_key_(std::move(worker_key)), lanes_(ex, lanes) {}

asio::awaitable<error_code> presence_store::write_room(std::string room, std::function<writes()> build) {
  auto lane = co_await lanes_.enter(room);
  auto [aec, conn] = co_await pool_.acquire();
  if (aec) co_return aec;
  auto batch = build();
  if (batch.empty()) co_return error_code{};
  auto [ec, reply] = co_await conn->transaction(batch);
  co_return ec;
}

asio::awaitable<error_code> presence_store::add(std::string room, std::string id) {
  writes batch{{"SADD", keys_.room_members(worker_key_, room), std::move(id)},
               {"SADD", keys_.room_workers(room), worker_key_},
               {"SADD", keys_.worker_rooms(worker_key_), room}};
  co_return co_await write_room(std::move(room), [&batch] { return std::move(batch); });
}

asio::awaitable<error_code> presence_store::remove(std::string room, std::string id, bool last) {
  writes batch{{"SREM", keys_.room_members(worker_key_, room), std::move(id)}};
  if (last) {
    batch.push_back({"SREM", keys_.room_workers(room), worker_key_});
    batch.push_back({"SREM", keys_.worker_rooms(worker_key_), room});
  }
  co_return co_await write_room(std::move(room), [&batch] { return std::move(batch); });
}

asio::awaitable<error_code> presence_store::replace(std::string room, local_members local) {
  co_return co_await write_room(room, [this, &room, &local]() -> writes {
    std::string members = keys_.room_members(worker_key_, room);
    auto ids = local();
    if (ids.empty())
      return {{"SREM", keys_.room_workers(room), worker_key_},
              {"DEL", members},
              {"SREM", keys_.worker_rooms(worker_key_), room}};
    std::vector<std::string> add{"SADD", members};
    add.insert(add.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
    return {{"DEL", members}, std::move(add), {"SADD", keys_.room_workers(room), worker_key_},
            {"SADD", keys_.worker_rooms(worker_key_), room}};
  });
}

asio::awaitable<std::optional<std::vector<std::string>>> presence_store::listed_rooms() {
  std::string worker_rooms = keys_.worker_rooms(worker_key_);
  auto [ec, listed] = co_await pool_.command("SMEMBERS", worker_rooms);
  if (ec) co_return std::nullopt;
  co_return redis::strings_of(listed.get());
}

asio::awaitable<std::optional<std::size_t>> presence_store::room_count(const std::vector<std::string>& workers) {
  if (workers.empty()) co_return 0;
  std::vector<std::string> sets;
  for (const auto& worker : workers) sets.push_back(keys_.worker_rooms(worker));
  std::vector<std::string_view> sunion{"SUNION"};
  sunion.insert(sunion.end(), sets.begin(), sets.end());
  auto [ec, rooms] = co_await pool_.request(sunion);
  if (ec || !rooms || rooms->type != REDIS_REPLY_ARRAY) co_return std::nullopt;
  co_return rooms->elements;
}

asio::awaitable<std::optional<std::vector<std::string>>> presence_store::members(const std::string& room) {
  auto [aec, conn] = co_await pool_.acquire();
  if (aec) co_return std::nullopt;
  std::string workers_key = keys_.room_workers(room);
  std::array<std::string_view, 2> smembers{"SMEMBERS", workers_key};
  auto [ec, listed] = co_await conn->request(smembers);
  auto workers = ec ? std::nullopt : redis::strings_of(listed.get());
  if (!workers) co_return std::nullopt;
  std::vector<std::string> out;
  if (workers->empty()) co_return out;

  // Only workers whose liveness entry exists count: a dead one's members
  // are gone from presence the moment its entry expires.
  std::vector<std::string> entries;
  for (const auto& worker : *workers) entries.push_back(keys_.worker_entry(worker));
  std::vector<std::string_view> mget{"MGET"};
  mget.insert(mget.end(), entries.begin(), entries.end());
  auto [gec, alive] = co_await conn->request(mget);
  if (gec || !alive || alive->type != REDIS_REPLY_ARRAY || alive->elements != workers->size()) co_return std::nullopt;

  std::vector<std::string> member_keys;
  for (std::size_t i = 0; i < workers->size(); ++i)
    if (alive->element[i]->type == REDIS_REPLY_STRING) member_keys.push_back(keys_.room_members((*workers)[i], room));
  if (member_keys.empty()) co_return out;
  std::vector<std::string_view> sunion{"SUNION"};
  sunion.insert(sunion.end(), member_keys.begin(), member_keys.end());
  auto [uec, ids] = co_await conn->request(sunion);
  auto found = uec ? std::nullopt : redis::strings_of(ids.get());
  if (!found) co_return std::nullopt;
  std::sort(found->begin(), found->end());
  co_return found;
}

asio::awaitable<presence_store::sweep_result> presence_store::sweep(const std::string& worker_key) {
  auto [ec, reply] = co_await pool_.command("EVAL", sweep_script, "0", keys_.prefix(), worker_key);
  if (ec) co_return sweep_result{ec, 0, {}};
  sweep_result out;
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
      reply->element[0]->type != REDIS_REPLY_INTEGER)
    co_return out;
  out.rooms = std::max(reply->element[0]->integer, 0LL);
  for (std::size_t i = 1; i + 1 < reply->elements; i += 2)
    out.departed.emplace_back(redis::text_of(*reply->element[i]), redis::text_of(*reply->element[i + 1]));
  co_return out;
}

}  // namespace switchboard
