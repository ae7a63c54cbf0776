#pragma once
// The worker's local registry: client id -> session. Delivery hands the same
// immutable frame to every local recipient and never re-enters the hub.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "common/protocol/envelope.hpp"
#include "server/net/send_ring.hpp"

namespace switchboard {

class ws_session;

// Lets string-keyed maps be searched with a string_view, without a copy.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using room_map = std::unordered_map<std::string, std::vector<ws_session*>, string_hash, std::equal_to<>>;

class hub {
 public:
  hub(metrics::worker_metrics& counters, send_ring& sends) : metrics_(counters), sends_(sends) {}

  // Sessions register once their id is known and deregister when they end;
  // the hub holds no ownership.
  void add(ws_session& session);
  void remove(ws_session& session);

  // Hands `frame` to the local recipients that `kind`/`target` name. The
  // writes of a broadcast or room delivery reach the kernel together, in one
  // system call; a direct message's single write goes on its own.
  void deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame);

  // Local room membership. join() is true when `session` is the room's first
  // local member, leave() when it was the last.
  bool join(const std::string& room, ws_session& session);
  bool leave(const std::string& room, ws_session& session);
  // room -> local members, for re-announcing presence after a reconnect.
  const room_map& rooms() const { return rooms_; }

  // Starts a graceful close of every session (drain).
  void close_all(websocket::close_code code, std::string_view reason);

  std::size_t size() const { return sessions_.size(); }

 private:
  // Keyed by a view of the session's own id, which lives as long as the entry.
  std::unordered_map<std::string_view, ws_session*> sessions_;
  // A vector, not a set: delivery walks it per message, joins and leaves are rare.
  room_map rooms_;
  metrics::worker_metrics& metrics_;
  send_ring& sends_;
};

}  // namespace switchboard
