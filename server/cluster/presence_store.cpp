#include "server/cluster/presence_store.hpp"

#include <algorithm>
#include <array>

namespace switchboard {
namespace {

// A dead worker's sweep, in two steps, since its list of rooms and each
// room's sets are in different slots (redis_keys). First, in the registry's
// slot, the list is taken, atomically and only if the worker's liveness
// entry is still absent: of two workers that sweep at once only one gets
// the rooms (and announces their members), and a worker that came back
// meanwhile keeps what it has just restored.
// KEYS: the worker's entry, its rooms. Returns the rooms; -1 when the
// worker is alive again.
constexpr std::string_view take_rooms_script = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local rooms = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
return rooms
)lua";

// Then, per room, in the room's slot: its members on that worker, removed
// with the worker's place in the room. KEYS: the room's workers, the
// worker's members of it; ARGV: the worker key. Returns the members.
constexpr std::string_view sweep_room_script = R"lua(
local members = redis.call('SMEMBERS', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return members
)lua";

}  // namespace

presence_store::presence_store(asio::any_io_executor ex, redis::router& pool, const redis_keys& keys,
                               std::string worker_key, std::size_t lanes)
    : pool_(pool), keys_(keys), worker_key_(std::move(worker_key)), lanes_(ex, lanes) {}

asio::awaitable<error_code> presence_store::write_room(std::string room, std::function<room_write()> build) {
  auto lane = co_await lanes_.enter(room);
  auto change = build();
  std::string listing = keys_.worker_rooms(worker_key_);
  // The worker's list names the room before the room names the worker, and
  // after it no longer does: whatever a dead worker left in a room, the
  // sweep finds through the list.
  if (change.holds == listed::added) {
    auto [ec, reply] = co_await pool_.command("SADD", listing, room);
    if (ec) co_return ec;
  }
  if (!change.room.empty()) {
    auto [ec, reply] = co_await pool_.transaction(change.room);
    if (ec) co_return ec;
  }
  if (change.holds == listed::removed) {
    auto [ec, reply] = co_await pool_.command("SREM", listing, room);
    if (ec) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> presence_store::add(std::string room, std::string id) {
  room_write change{{{"SADD", keys_.room_members(worker_key_, room), std::move(id)},
                     {"SADD", keys_.room_workers(room), worker_key_}},
                    listed::added};
  co_return co_await write_room(std::move(room), [&change] { return std::move(change); });
}

asio::awaitable<error_code> presence_store::remove(std::string room, std::string id, bool last) {
  room_write change{{{"SREM", keys_.room_members(worker_key_, room), std::move(id)}}, listed::unchanged};
  if (last) {
    change.room.push_back({"SREM", keys_.room_workers(room), worker_key_});
    change.holds = listed::removed;
  }
  co_return co_await write_room(std::move(room), [&change] { return std::move(change); });
}

asio::awaitable<error_code> presence_store::replace(std::string room, local_members local) {
  co_return co_await write_room(room, [this, &room, &local]() -> room_write {
    std::string members = keys_.room_members(worker_key_, room);
    auto ids = local();
    if (ids.empty()) return {{{"SREM", keys_.room_workers(room), worker_key_}, {"DEL", members}}, listed::removed};
    std::vector<std::string> add{"SADD", members};
    add.insert(add.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
    return {{{"DEL", members}, std::move(add), {"SADD", keys_.room_workers(room), worker_key_}}, listed::added};
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
  // Three reads: the room's slot, the registry's, the room's again.
  std::string workers_key = keys_.room_workers(room);
  auto [ec, listed] = co_await pool_.command("SMEMBERS", workers_key);
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
  auto [gec, alive] = co_await pool_.request(mget);
  if (gec || !alive || alive->type != REDIS_REPLY_ARRAY || alive->elements != workers->size()) co_return std::nullopt;

  std::vector<std::string> member_keys;
  for (std::size_t i = 0; i < workers->size(); ++i)
    if (alive->element[i]->type == REDIS_REPLY_STRING) member_keys.push_back(keys_.room_members((*workers)[i], room));
  if (member_keys.empty()) co_return out;
  std::vector<std::string_view> sunion{"SUNION"};
  sunion.insert(sunion.end(), member_keys.begin(), member_keys.end());
  auto [uec, ids] = co_await pool_.request(sunion);
  auto found = uec ? std::nullopt : redis::strings_of(ids.get());
  if (!found) co_return std::nullopt;
  std::sort(found->begin(), found->end());
  co_return found;
}

asio::awaitable<presence_store::sweep_result> presence_store::sweep(const std::string& worker_key) {
  std::string entry = keys_.worker_entry(worker_key);
  std::string listing = keys_.worker_rooms(worker_key);
  auto [ec, taken] = co_await pool_.command("EVAL", take_rooms_script, "2", entry, listing);
  if (ec) co_return sweep_result{ec, 0, {}};
  sweep_result out;
  // -1 (alive again) is no list: nothing to sweep.
  auto rooms = redis::strings_of(taken.get());
  if (!rooms) co_return out;
  for (const auto& room : *rooms) {
    std::string workers = keys_.room_workers(room);
    std::string members = keys_.room_members(worker_key, room);
    auto [rec, removed] = co_await pool_.command("EVAL", sweep_room_script, "2", workers, members, worker_key);
    // The room's list is gone: a room that fails here keeps its leftovers,
    // which presence ignores (the worker's entry is absent).
    if (rec) {
      out.ec = rec;
      continue;
    }
    ++out.rooms;
    for (auto& member : redis::strings_of(removed.get()).value_or(std::vector<std::string>{}))
      out.departed.emplace_back(room, std::move(member));
  }
  co_return out;
}

}  // namespace switchboard
