#pragma once
// The error codes of PROTOCOL.md, sent to clients in `error` frames.

#include <cstddef>
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
  forbidden,       // the connection's token does not allow it
};

// One past the last kind: metrics keeps a counter per kind, labelled with
// to_string. error.cpp checks that it matches the enum.
inline constexpr std::size_t error_kind_count = 8;

// constexpr so that metrics can build its labels at compile time. The switch
// has no default and -Wswitch is an error here: a new kind does not compile
// until it has a name.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr std::string_view to_string(error_kind kind) {
  switch (kind) {
    case error_kind::bad_json: return "bad_json";
    case error_kind::bad_request: return "bad_request";
    case error_kind::unknown_type: return "unknown_type";
    case error_kind::unsupported: return "unsupported";
    case error_kind::too_many_rooms: return "too_many_rooms";
    case error_kind::rate_limited: return "rate_limited";
    case error_kind::unavailable: return "unavailable";
    case error_kind::forbidden: return "forbidden";
  }
  return "unknown";
}
#pragma GCC diagnostic pop

}  // namespace switchboard::protocol
