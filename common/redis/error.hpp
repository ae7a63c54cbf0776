#pragma once
// Errors of the Redis layer as error_codes of our own category.

#include <boost/system/error_code.hpp>

namespace switchboard::redis {

enum class errc {
  unavailable = 1,  // not connected right now
  protocol_error,   // the server sent bytes that are not RESP
  server_error,     // the server answered with an error reply
  timeout,          // no answer within the command timeout
  closed,           // the connection was closed by us
  not_primary,      // the server is a replica (or a sentinel), not the primary
};

const boost::system::error_category& category();

inline boost::system::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace switchboard::redis

template <>
struct boost::system::is_error_code_enum<switchboard::redis::errc> : std::true_type {};
