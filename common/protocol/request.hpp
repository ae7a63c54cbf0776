#pragma once
// Turns one client text frame into a typed request, or into the error that
// answers it (PROTOCOL.md, "Client to server").

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/protocol/error.hpp"

namespace switchboard::protocol {

enum class request_type { broadcast, direct, join, leave, room, presence, ping };

struct request {
  request_type type{};
  // The client's `ref` as JSON text ("7" or "\"abc\""), echoed verbatim.
  std::optional<std::string> ref;
  std::string to;    // direct
  std::string room;  // join, leave, room, presence
  std::string data;  // broadcast, direct, room: the `data` value as JSON text
};

struct request_error {
  error_kind kind{};
  std::string message;
  std::optional<std::string> ref;  // echoed when the frame had a valid one
};

using parse_result = std::variant<request, request_error>;

// Nesting deeper than this is refused before parsing: serialising a deep
// value recurses, and nobody needs 64 levels in a chat message.
inline constexpr int max_json_depth = 64;

parse_result parse_request(std::string_view text);

// 1 to 64 characters of [A-Za-z0-9._:-].
bool is_valid_client_id(std::string_view id);
// 1 to 128 bytes of UTF-8 without C0, DEL or C1 control characters.
// The text must already be valid UTF-8 (it comes out of a JSON string).
bool is_valid_room_name(std::string_view room);

}  // namespace switchboard::protocol
