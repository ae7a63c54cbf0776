#pragma once
// What the hub knows of a client: its id, and how to hand it a frame or
// close it. ws_session is the one implementation; the hub and the room
// service hold recipients, so nothing below the session reaches into it.

#include <memory>
#include <string>
#include <string_view>

#include "common/net.hpp"

namespace switchboard {

class recipient {
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
