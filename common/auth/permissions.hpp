#pragma once
// What a connection may do (PROTOCOL.md, "Permissions"): the grants of its
// token. Absent claims mean "not allowed", except `direct`. An anonymous
// connection has no permissions object at all and may do everything.

#include "common/auth/pattern_set.hpp"

namespace switchboard::auth {

struct permissions {
  pattern_set rooms;       // join, presence and history
  pattern_set publish;     // room messages, membership not needed
  bool broadcast = false;  // still subject to the operator's switch
  // Direct messages are how a chat answers one person; PROTOCOL.md allows
  // them unless the token says otherwise.
  bool direct = true;
};

}  // namespace switchboard::auth
