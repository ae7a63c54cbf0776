#pragma once
// The error codes of PROTOCOL.md, sent to clients in `error` frames.

#include <string_view>

namespace switchboard::protocol {

enum class error_kind {
  bad_json,        // not JSON, or not an object
  bad_request,     // a field missing or of the wrong kind, a malformed name
  unknown_type,    // `type` is not a request this server accepts
  unsupported,     // a binary frame
  too_many_rooms,  // the per-connection room limit was reached
  rate_limited,
  unavailable,     // the broker cannot be reached right now
};

std::string_view to_string(error_kind kind);

}  // namespace switchboard::protocol
