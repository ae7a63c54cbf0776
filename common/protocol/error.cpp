#include "common/protocol/error.hpp"

namespace switchboard::protocol {

std::string_view to_string(error_kind kind) {
  switch (kind) {
    case error_kind::bad_json: return "bad_json";
    case error_kind::bad_request: return "bad_request";
    case error_kind::unknown_type: return "unknown_type";
    case error_kind::unsupported: return "unsupported";
    case error_kind::too_many_rooms: return "too_many_rooms";
    case error_kind::rate_limited: return "rate_limited";
    case error_kind::unavailable: return "unavailable";
  }
  return "unknown";
}

}  // namespace switchboard::protocol
