#pragma once
// What a verified token says about its connection: who it is and what it may
// do (PROTOCOL.md, "Identity and auth" and "Permissions"). Absent claims
// mean "not allowed", except `direct`.

#include <cstdint>
#include <optional>
#include <string>

#include "common/auth/pattern_set.hpp"

namespace switchboard::auth {

struct claims {
  // The user id: 1 to 128 bytes of UTF-8 without control characters.
  std::string sub;
  // Seconds since the epoch, rounded up; the connection is closed once it
  // plus the verifier's leeway has passed. Absent: the token never expires.
  std::optional<std::int64_t> exp;
  pattern_set rooms;       // join, presence and history
  pattern_set publish;     // room messages, membership not needed
  bool broadcast = false;  // still subject to the operator's switch
  // Direct messages are how a chat answers one person; PROTOCOL.md allows
  // them unless the token says otherwise.
  bool direct = true;
};

}  // namespace switchboard::auth
