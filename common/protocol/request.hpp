#pragma once
// Turns one client text frame into a typed request, or into the error that
// answers it (PROTOCOL.md, "Client to server").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/protocol/error.hpp"
#include "common/protocol/stream_position.hpp"

namespace switchboard::protocol {

enum class request_type { broadcast, direct, join, leave, room, presence, ping, refresh, history };

// One past the last type: metrics keeps a counter per type, labelled with
// to_string. request.cpp checks that it matches the enum.
inline constexpr std::size_t request_type_count = 9;

// The `type` a client sends. constexpr so that metrics can build its labels
// at compile time; the switch has no default and -Wswitch is an error here,
// so a new type does not compile until it has a name.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr std::string_view to_string(request_type type) {
  switch (type) {
    case request_type::broadcast: return "broadcast";
    case request_type::direct: return "direct";
    case request_type::join: return "join";
    case request_type::leave: return "leave";
    case request_type::room: return "room";
    case request_type::presence: return "presence";
    case request_type::ping: return "ping";
    case request_type::refresh: return "refresh";
    case request_type::history: return "history";
  }
  return "unknown";
}
#pragma GCC diagnostic pop

struct request {
  request_type type{};
  // The client's `ref` as JSON text ("7" or "\"abc\""), echoed verbatim.
  std::optional<std::string> ref;
  std::string to;    // direct to a connection
  std::string user;  // direct to a user (instead of `to`)
  std::string room;  // join, leave, room, presence, history
  std::string data;  // broadcast, direct, room: the `data` value as JSON text
  std::string token;  // refresh
  bool events = false;  // join: also receive member events
  // join: recover from here; history: the messages after it.
  std::optional<stream_position> since;
  std::size_t limit = 0;  // history: at most this many messages; 0: as many as kept
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

// (v2) `user:U` is U's personal room: U, or nullopt for any other room.
std::optional<std::string_view> personal_room_user(std::string_view room);

// 1 to 64 characters of [A-Za-z0-9._:-].
bool is_valid_client_id(std::string_view id);
// 1 to 128 bytes of UTF-8 without C0, DEL or C1 control characters.
// The text must already be valid UTF-8 (it comes out of a JSON string).
bool is_valid_room_name(std::string_view room);

}  // namespace switchboard::protocol
