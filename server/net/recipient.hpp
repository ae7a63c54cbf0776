#pragma once
// What the hub knows of a client: its id, and how to hand it a frame or
// close it. ws_session is the one implementation; the hub and the room
// service hold recipients, so nothing below the session reaches into it.
// The hook puts a recipient with a user into the hub's user index without
// a node of its own (16 bytes here instead of a 48-byte node there).

#include <memory>
#include <string>
#include <string_view>

#include <boost/intrusive/unordered_set_hook.hpp>

#include "common/net.hpp"

namespace switchboard {

using user_index_hook = boost::intrusive::unordered_set_base_hook<boost::intrusive::store_hash<true>>;

class recipient : public user_index_hook {
 public:
  virtual const std::string& id() const = 0;
  // The user id from its token; empty for an anonymous connection.
  virtual const std::string& user() const = 0;
  // Queues `frame`; never waits (see ws_session::send).
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
  // Flushes what is queued, then closes with `code`.
  virtual void close(websocket::close_code code, std::string_view reason) = 0;

 protected:
  ~recipient() = default;
};

}  // namespace switchboard
