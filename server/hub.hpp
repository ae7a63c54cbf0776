#pragma once
// The worker's local registry: client id -> session. Delivery hands the same
// immutable frame to every local recipient and never re-enters the hub.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/net.hpp"
#include "common/protocol/envelope.hpp"

namespace switchboard {

class ws_session;

class hub {
 public:
  // Sessions register once their id is known and deregister when they end;
  // the hub holds no ownership.
  void add(ws_session& session);
  void remove(ws_session& session);

  // Hands `frame` to the local recipients that `kind`/`target` name.
  void deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame);

  // Starts a graceful close of every session (drain).
  void close_all(websocket::close_code code, std::string_view reason);

  std::size_t size() const { return sessions_.size(); }

 private:
  // Keyed by a view of the session's own id, which lives as long as the entry.
  std::unordered_map<std::string_view, ws_session*> sessions_;
};

}  // namespace switchboard
