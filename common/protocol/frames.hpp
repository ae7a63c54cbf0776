#pragma once
// Builds the server-to-client frames of PROTOCOL.md as JSON text.
// `ref` and `data` arguments are JSON text already (see request.hpp).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/error.hpp"
#include "common/protocol/stream_position.hpp"

namespace switchboard::protocol {

// `member`: a member event of a room (join with "events"), which only the
// room's watchers get.
enum class scope { broadcast, direct, room, user, member };
// One past the last scope: metrics keeps a counter per scope, labelled with
// to_string.
inline constexpr std::size_t scope_count = 5;

// As error.hpp's: a new scope does not compile until it has a name, and the
// count is checked against the names.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr std::string_view to_string(scope s) {
  switch (s) {
    case scope::broadcast: return "broadcast";
    case scope::direct: return "direct";
    case scope::room: return "room";
    case scope::user: return "user";
    case scope::member: return "member";
  }
  return "unknown";
}
#pragma GCC diagnostic pop
static_assert(to_string(static_cast<scope>(scope_count - 1)) != "unknown" &&
                  to_string(static_cast<scope>(scope_count)) == "unknown",
              "scope_count must be the number of scopes");

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

// `user`: the token's `sub` with auth; empty for an anonymous connection,
// whose welcome has no `user`.
std::string welcome_frame(std::string_view id, std::string_view node, int worker, std::string_view user = {});
std::string ack_frame(std::string_view ref);
std::string pong_frame(const std::optional<std::string>& ref);
std::string error_frame(error_kind kind, std::string_view message, const std::optional<std::string>& ref);
// `users`: with auth, the distinct user ids among the members (v2); none
// without auth, and the frame has no `users`.
std::string presence_frame(std::string_view room, const std::vector<std::string>& members,
                           const std::optional<std::string>& ref,
                           const std::optional<std::vector<std::string>>& users = std::nullopt);
// Another connection joined or left `room` (PROTOCOL.md, `join` with
// "events"); `user` only with auth.
std::string member_frame(bool joined, std::string_view room, std::string_view id, std::string_view user);
// The server took the connection out of `room` (PROTOCOL.md, "Token
// lifetime": `reason` is "forbidden" when a refreshed token no longer allows it).
std::string left_frame(std::string_view room, std::string_view reason);

// A delivery. `target` is the recipient id for direct, the room for room
// and the user id for user; it is ignored for broadcast. `from_user`: the sender's user id, empty for
// an anonymous sender (the frame then has no `from_user`).
std::string message_frame(scope s, std::string_view from, std::string_view target, std::string_view data,
                          std::string_view from_user = {});
// The same frame without its closing brace: a message stored in a room's
// history is finished in Redis, where its offset is counted, with
// `,"offset":N,"epoch":"E"}` (server/cluster/history_store).
std::string message_frame_head(scope s, std::string_view from, std::string_view target, std::string_view data,
                               std::string_view from_user = {});

// The ack of a join of a room with history: the room's place now, and
// whether the messages after the join's `since` follow.
std::string join_ack_frame(const std::optional<std::string>& ref, const stream_position& now, bool recovered);
// The answer to `history`: `messages` are stored frames (JSON text), oldest
// first; `now` is the room's place now.
std::string history_frame(std::string_view room, const std::vector<std::string>& messages,
                          const stream_position& now, const std::optional<std::string>& ref);

}  // namespace switchboard::protocol
