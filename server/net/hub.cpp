#include "server/net/hub.hpp"

#include <algorithm>
#include <cassert>

namespace switchboard {
namespace {

const std::vector<std::string> no_rooms;

// Order among members does not matter: the last takes the leaver's place.
void remove_member(std::vector<recipient*>& members, recipient* who) {
  auto at = std::find(members.begin(), members.end(), who);
  *at = members.back();
  members.pop_back();
}

}  // namespace

void hub::add(recipient& who) {
  clients_.emplace(who.id(), client{&who, {}});
  if (who.user().empty()) return;
  if (users_.size() >= user_buckets_.size()) {
    std::vector<user_index::bucket_type> larger(user_buckets_.size() * 2);
    users_.rehash(user_index::bucket_traits(larger.data(), larger.size()));
    user_buckets_.swap(larger);
  }
  users_.insert(who);
}

void hub::remove(recipient& who) {
  assert(rooms_of(who).empty() && "a recipient leaves its rooms before the hub");
  clients_.erase(who.id());
  if (who.user_index_hook::is_linked()) users_.erase(users_.iterator_to(who));
  std::erase_if(holds_, [&who](const held& h) { return h.who == &who; });
}

namespace {

// Whether a hold's room is the one `kind`/`target` names: the room itself,
// or user:U for a message to user U.
bool names_room(std::string_view held_room, protocol::scope kind, std::string_view target) {
  if (kind == protocol::scope::room) return held_room == target;
  constexpr std::string_view personal = "user:";
  return kind == protocol::scope::user && held_room.size() == personal.size() + target.size() &&
         held_room.starts_with(personal) && held_room.substr(personal.size()) == target;
}

}  // namespace

void hub::hand(recipient& who, protocol::scope kind, std::string_view target,
               const std::shared_ptr<const std::string>& frame, std::uint64_t offset) {
  for (auto it = holds_.begin(); it != holds_.end(); ++it) {
    if (it->who != &who || !names_room(it->room, kind, target)) continue;
    it->bytes += frame->size();
    if (it->bytes > it->limit_bytes) {
      holds_.erase(it);
      who.close(websocket::close_code::policy_error, "slow consumer");
      return;
    }
    it->frames.emplace_back(offset, frame);
    return;
  }
  who.send(frame);
}

void hub::deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame,
                  std::uint64_t offset) {
  auto& delivered = metrics_.deliveries[static_cast<std::size_t>(kind)];
  auto to_all = [&](const std::vector<recipient*>& members) {
    if (holds_.empty()) {
      for (auto* member : members) member->send(frame);
    } else {
      for (auto* member : members) hand(*member, kind, target, frame, offset);
    }
    metrics::add(delivered, members.size());
  };
  switch (kind) {
    case protocol::scope::broadcast: {
      for (auto& [id, c] : clients_) c.who->send(frame);
      metrics::add(delivered, clients_.size());
      break;
    }
    case protocol::scope::direct:
      if (auto it = clients_.find(target); it != clients_.end()) {
        it->second.who->send(frame);
        metrics::add(delivered);
      }
      break;
    case protocol::scope::room:
      if (auto it = rooms_.find(target); it != rooms_.end()) to_all(it->second);
      break;
    case protocol::scope::user: {
      auto [first, last] = users_.equal_range(target);
      for (auto it = first; it != last; ++it) {
        hand(*it, kind, target, frame, offset);
        metrics::add(delivered);
      }
      break;
    }
    case protocol::scope::member: {
      // "<id> <room>": the room's watchers hear of others, not of themselves.
      auto space = target.find(' ');
      if (space == std::string_view::npos) break;
      auto subject = target.substr(0, space);
      auto it = watchers_.find(target.substr(space + 1));
      if (it == watchers_.end()) break;
      for (auto* watcher : it->second) {
        if (watcher->id() == subject) continue;
        watcher->send(frame);
        metrics::add(delivered);
      }
      break;
    }
  }
}

bool hub::join(const std::string& room, recipient& who, bool events) {
  auto c = clients_.find(who.id());
  assert(c != clients_.end() && "only a registered recipient joins rooms");
  c->second.rooms.push_back(room);
  if (events) watchers_[room].push_back(&who);
  auto& members = rooms_[room];
  members.push_back(&who);
  return members.size() == 1;
}

bool hub::leave(const std::string& room, recipient& who) {
  auto c = clients_.find(who.id());
  if (c == clients_.end()) return false;
  auto& joined = c->second.rooms;
  auto listed = std::find(joined.begin(), joined.end(), room);
  if (listed == joined.end()) return false;
  joined.erase(listed);
  if (auto h = find_hold(room, who); h != holds_.end()) holds_.erase(h);
  if (auto w = watchers_.find(room); w != watchers_.end()) {
    if (std::find(w->second.begin(), w->second.end(), &who) != w->second.end()) remove_member(w->second, &who);
    if (w->second.empty()) watchers_.erase(w);
  }

  auto it = rooms_.find(room);
  auto& members = it->second;
  remove_member(members, &who);
  if (!members.empty()) return false;
  rooms_.erase(it);
  return true;
}

bool hub::is_member(std::string_view room, const recipient& who) const {
  const auto& joined = rooms_of(who);
  return std::find(joined.begin(), joined.end(), room) != joined.end();
}

const std::vector<std::string>& hub::rooms_of(const recipient& who) const {
  auto c = clients_.find(who.id());
  return c == clients_.end() ? no_rooms : c->second.rooms;
}

std::vector<hub::held>::iterator hub::find_hold(std::string_view room, const recipient& who) {
  return std::find_if(holds_.begin(), holds_.end(), [&](const held& h) { return h.who == &who && h.room == room; });
}

void hub::hold(std::string room, recipient& who, std::size_t limit_bytes) {
  if (find_hold(room, who) != holds_.end()) return;
  holds_.push_back(held{std::move(room), &who, limit_bytes, 0, {}});
}

bool hub::is_held(std::string_view room, const recipient& who) const {
  return std::any_of(holds_.begin(), holds_.end(), [&](const held& h) { return h.who == &who && h.room == room; });
}

void hub::release(std::string_view room, recipient& who, std::uint64_t after) {
  auto it = find_hold(room, who);
  if (it == holds_.end()) return;
  auto frames = std::move(it->frames);
  holds_.erase(it);
  // Live messages come in offset order (one Redis orders a room's
  // publishes), so those the read already gave are a prefix.
  for (auto& [offset, frame] : frames)
    if (offset == 0 || offset > after) who.send(std::move(frame));
}

void hub::disconnect(const protocol::disconnect_order& order) {
  auto code = static_cast<websocket::close_code>(order.code);
  if (!order.by_user) {
    if (auto it = clients_.find(order.target); it != clients_.end()) it->second.who->close(code, order.reason);
    return;
  }
  // A copy: a close may end a session, which leaves the map, at once.
  std::vector<recipient*> closing;
  auto [first, last] = users_.equal_range(order.target);
  for (auto it = first; it != last; ++it) closing.push_back(&*it);
  for (auto* who : closing) who->close(code, order.reason);
}

void hub::close_all(websocket::close_code code, std::string_view reason) {
  for (auto& [id, c] : clients_) c.who->close(code, reason);
}

}  // namespace switchboard
