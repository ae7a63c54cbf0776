#include "server/hub.hpp"

#include "server/ws_session.hpp"

namespace switchboard {

void hub::add(ws_session& session) { sessions_.emplace(session.id(), &session); }

void hub::remove(ws_session& session) { sessions_.erase(session.id()); }

void hub::deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame) {
  switch (kind) {
    case protocol::scope::broadcast:
      for (auto& [id, session] : sessions_) session->send(frame);
      break;
    case protocol::scope::direct:
      if (auto it = sessions_.find(target); it != sessions_.end()) it->second->send(frame);
      break;
    case protocol::scope::room:
      // Rooms are not served by this worker yet: nobody is a member.
      break;
  }
}

void hub::close_all(websocket::close_code code, std::string_view reason) {
  for (auto& [id, session] : sessions_) session->close(code, reason);
}

}  // namespace switchboard
