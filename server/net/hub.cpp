#include "server/net/hub.hpp"

#include <algorithm>

#include "server/net/ws_session.hpp"

namespace switchboard {

void hub::add(ws_session& session) { sessions_.emplace(session.id(), &session); }

void hub::remove(ws_session& session) { sessions_.erase(session.id()); }

void hub::deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame) {
  switch (kind) {
    case protocol::scope::broadcast: {
      send_ring::batch batch(sends_);
      for (auto& [id, session] : sessions_) session->send(frame);
      metrics::add(metrics_.deliveries[0], sessions_.size());
      break;
    }
    case protocol::scope::direct:
      if (auto it = sessions_.find(target); it != sessions_.end()) {
        it->second->send(frame);
        metrics::add(metrics_.deliveries[1]);
      }
      break;
    case protocol::scope::room:
      if (auto it = rooms_.find(target); it != rooms_.end()) {
        send_ring::batch batch(sends_);
        for (auto* member : it->second) member->send(frame);
        metrics::add(metrics_.deliveries[2], it->second.size());
      }
      break;
  }
}

bool hub::join(const std::string& room, ws_session& session) {
  auto& members = rooms_[room];
  members.push_back(&session);
  return members.size() == 1;
}

bool hub::leave(const std::string& room, ws_session& session) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return false;
  auto& members = it->second;
  auto at = std::find(members.begin(), members.end(), &session);
  if (at == members.end()) return false;
  *at = members.back();
  members.pop_back();
  if (!members.empty()) return false;
  rooms_.erase(it);
  return true;
}

void hub::close_all(websocket::close_code code, std::string_view reason) {
  for (auto& [id, session] : sessions_) session->close(code, reason);
}

}  // namespace switchboard
