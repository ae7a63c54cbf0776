#pragma once
// What a verified token says about its connection: who it is, until when,
// and what it may do (PROTOCOL.md, "Identity and auth", "Permissions",
// "Token lifetime").

#include <cstdint>
#include <optional>
#include <string>

#include "common/auth/permissions.hpp"

namespace switchboard::auth {

struct claims {
  // The user id: 1 to 128 bytes of UTF-8 without control characters.
  std::string sub;
  // Seconds since the epoch, rounded up; the connection is closed once it
  // plus the verifier's leeway has passed. Absent: the token never expires.
  std::optional<std::int64_t> exp;
  permissions grants;
  // The granting claims exactly as issued (names and JSON values): two
  // tokens with equal keys grant the same, so their connections can share
  // one compiled copy (permission_cache).
  std::string grants_key;
};

}  // namespace switchboard::auth
