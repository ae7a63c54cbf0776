#include "server/net/room_service.hpp"

#include <set>

#include "common/log.hpp"
#include "common/redis/error.hpp"
#include "common/spawn.hpp"

namespace switchboard {
namespace {

std::string member_of(const recipient& who) { return presence_member{who.id(), who.user()}.encoded(); }

}  // namespace

room_service::room_service(asio::any_io_executor ex, const config& cfg, const redis_keys& keys, hub& local,
                           presence_store& presence, history_store& history, publisher& messages,
                           const redis::client& control, redis::subscriber& subscriber)
    : ex_(ex),
      cfg_(cfg),
      keys_(keys),
      hub_(local),
      presence_(presence),
      history_(history),
      messages_(messages),
      control_(control),
      subscriber_(subscriber) {}

asio::awaitable<room_service::join_result> room_service::join(recipient& who, const std::string& room, bool events,
                                                             std::optional<protocol::stream_position> since) {
  if (protocol::personal_room_user(room)) co_return co_await recover_personal(who, room, std::move(since));
  bool keeps = history_.keeps(room);
  if (hub_.is_member(room, who)) {
    // Nothing to do but say where the room is. It has been receiving the
    // room's messages all along, so it is recovered only if nothing came
    // after its since.
    if (!keeps) co_return join_result{};
    auto read = co_await history_.recover(room, since);
    if (read.ec) co_return join_result{protocol::error_kind::unavailable, std::nullopt};
    if (read.outcome == protocol::recovery_outcome::recovered && !read.frames.empty())
      read.outcome = protocol::recovery_outcome::too_old;
    co_return join_result{std::nullopt, recovery{std::move(read.now), read.outcome, {}}};
  }
  if (hub_.rooms_of(who).size() >= cfg_.max_rooms_per_connection)
    co_return join_result{protocol::error_kind::too_many_rooms, std::nullopt};
  if (!control_.is_up() || !subscriber_.is_connected()) co_return join_result{protocol::error_kind::unavailable, std::nullopt};

  // Member locally first: a message that reaches the worker from now on
  // reaches this client, so nothing sent after the ack can be missed. In a
  // room with history it is held until the read below has been sent.
  hub_.join(room, who, events);
  if (keeps) hub_.hold(room, who, cfg_.send_queue_bytes);
  error_code ec = co_await subscriber_.subscribe(keys_.room_channel(room));
  if (!ec) ec = co_await presence_.add(room, member_of(who));
  join_result out;
  if (!ec && keeps) {
    // After the subscription: whatever is published from here on comes in
    // live, and whatever came before is in the read.
    out = co_await read_history(room, since);
    if (out.error) ec = make_error_code(redis::errc::unavailable);
  }
  if (!ec) {
    // After presence: a watcher that hears of the join finds it there. An
    // event that does not reach the broker is not worth failing the join.
    co_await messages_.publish_member_event(true, room, who.id(), who.user());
    co_return out;
  }

  // Undo, so that an error means nothing was done (and nobody hears of it).
  bool last = leave_here(who, room);
  spawn(ex_, depart(room, who.id(), who.user(), last, false), "presence removal");
  co_return join_result{protocol::error_kind::unavailable, std::nullopt};
}

asio::awaitable<room_service::join_result> room_service::recover_personal(
    recipient& who, const std::string& room, std::optional<protocol::stream_position> since) {
  if (!history_.keeps(room)) co_return join_result{};
  // Held since the welcome, unless an earlier request ended that; then
  // from now, which is all a read can make exact.
  hub_.hold(room, who, cfg_.send_queue_bytes);
  auto out = co_await read_history(room, since);
  if (out.error) hub_.release(room, who, 0);
  co_return out;
}

asio::awaitable<room_service::join_result> room_service::read_history(
    const std::string& room, const std::optional<protocol::stream_position>& since) {
  auto read = co_await history_.recover(room, since);
  if (read.ec) co_return join_result{protocol::error_kind::unavailable, std::nullopt};
  co_return join_result{std::nullopt, recovery{std::move(read.now), read.outcome, std::move(read.frames)}};
}

bool room_service::hold_personal(recipient& who) {
  if (who.user().empty()) return false;
  std::string room = "user:" + who.user();
  if (!history_.keeps(room)) return false;
  hub_.hold(std::move(room), who, cfg_.send_queue_bytes);
  return true;
}

void room_service::release_personal(recipient& who) { hub_.release("user:" + who.user(), who, 0); }

asio::awaitable<std::optional<protocol::error_kind>> room_service::leave(recipient& who, const std::string& room) {
  if (!hub_.is_member(room, who)) co_return std::nullopt;
  if (!control_.is_up()) co_return protocol::error_kind::unavailable;
  bool last = leave_here(who, room);
  // Locally the client has left either way; if Redis failed, restore()
  // rewrites presence from local truth once this worker is registered again.
  if (co_await presence_.remove(room, member_of(who), last)) co_return protocol::error_kind::unavailable;
  co_await messages_.publish_member_event(false, room, who.id(), who.user());
  co_return std::nullopt;
}

void room_service::leave_all(recipient& who) {
  // A copy: leaving edits the list.
  auto rooms = hub_.rooms_of(who);
  for (const auto& room : rooms) leave_locally(who, room);
}

asio::awaitable<void> room_service::evict(recipient& who, std::vector<std::string> rooms) {
  // Taken before the first wait: `who` may be gone by the time it ends.
  std::string id = who.id();
  std::string user = who.user();
  std::vector<bool> last;
  for (const auto& room : rooms) last.push_back(leave_here(who, room));
  for (std::size_t i = 0; i < rooms.size(); ++i) co_await depart(rooms[i], id, user, last[i], true);
}

// A failure of the Redis side (Redis gone) is repaired by restore() once
// this worker is registered again.
void room_service::leave_locally(recipient& who, const std::string& room) {
  bool last = leave_here(who, room);
  spawn(ex_, depart(room, who.id(), who.user(), last, true), "presence removal");
}

asio::awaitable<void> room_service::depart(std::string room, std::string id, std::string user, bool last,
                                           bool announce) {
  std::string member = presence_member{id, user}.encoded();
  error_code ec = co_await presence_.remove(room, std::move(member), last);
  if (!ec && announce) co_await messages_.publish_member_event(false, room, id, user);
}

bool room_service::leave_here(recipient& who, const std::string& room) {
  bool last = hub_.leave(room, who);
  if (last) subscriber_.unsubscribe(keys_.room_channel(room));
  return last;
}

asio::awaitable<std::optional<std::vector<presence_member>>> room_service::members(const std::string& room) {
  auto entries = co_await presence_.members(room);
  if (!entries) co_return std::nullopt;
  std::vector<presence_member> out;
  out.reserve(entries->size());
  for (const auto& entry : *entries) out.push_back(presence_member::decoded(entry));
  co_return out;
}

void room_service::restore() { spawn(ex_, restore_all(), "presence restore"); }

asio::awaitable<void> room_service::restore_all() {
  auto listed = co_await presence_.listed_rooms();
  if (!listed) co_return;
  std::set<std::string> rooms(listed->begin(), listed->end());
  for (const auto& [room, members] : hub_.rooms()) rooms.insert(room);
  // Each write reads the hub when it leaves, so it writes what holds then.
  for (const auto& room : rooms)
    spawn(ex_, presence_.replace(room, [this, room] {
            std::vector<std::string> members;
            if (auto it = hub_.rooms().find(room); it != hub_.rooms().end())
              for (const auto* member : it->second) members.push_back(member_of(*member));
            return members;
          }),
          "presence restore");
}

void room_service::sweep(const std::string& worker_key) {
  if (worker_key == presence_.worker_key()) return;
  spawn(ex_, run_sweep(worker_key), "presence sweep");
}

asio::awaitable<void> room_service::run_sweep(std::string worker_key) {
  auto swept = co_await presence_.sweep(worker_key);
  if (swept.ec) {
    log::warn("presence sweep of worker " + worker_key + " failed: " + swept.ec.message());
  } else if (swept.rooms > 0) {
    log::info("swept presence of dead worker " + worker_key + " from " + std::to_string(swept.rooms) + " rooms");
  }
  // Only the sweep that removed a member announces it: no duplicate left.
  for (const auto& [room, entry] : swept.departed) {
    auto member = presence_member::decoded(entry);
    co_await messages_.publish_member_event(false, room, member.id, member.user);
  }
}

}  // namespace switchboard
