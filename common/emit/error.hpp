#pragma once
// Why the emitter refused a message, as error_codes of our own category.
// Failures of Redis itself come back as the Redis layer's errors
// (common/redis/error.hpp) or the socket's.

#include <boost/system/error_code.hpp>

namespace switchboard::emit {

enum class errc {
  bad_room = 1,  // not 1 to 128 bytes of UTF-8 without control characters
  bad_user,      // the same rule, for a user id (and the U of a room user:U)
  bad_id,        // not 1 to 64 characters of [A-Za-z0-9._:-]
  bad_json,      // data is not exactly one JSON value
  too_deep,      // data nests deeper than a client's data may
  bad_scope,     // not broadcast, room, user or direct (member events are the server's)
};

const boost::system::error_category& category();

inline boost::system::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace switchboard::emit

template <>
struct boost::system::is_error_code_enum<switchboard::emit::errc> : std::true_type {};
