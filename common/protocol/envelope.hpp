#pragma once
// The bus envelope: what travels through Redis pub/sub between workers.
//
//   "1" <scope letter> <target> "\n" <frame>
//
// The scope letter is b (broadcast), d (direct), r (room), u (user) or m
// (a member event); the target is empty for broadcast, the recipient id for
// direct, the room name for room, the user id for user, and for a member
// event the subject's id, a space and the room (it goes on the room's
// channel, to the room's watchers but the subject). No id, room name or user id can hold a
// newline, so the header ends at the first one. The frame is the exact text
// every recipient gets, so a receiving worker routes on the header and never
// parses JSON.
//
// A message stored in a room's history carries its offset in the header,
// so that a worker can order and deduplicate it without reading the frame:
//
//   "1" "R"|"U" <offset> " " <room or user id> "\n" <frame>
//
// (R for a room, U for a personal room's user; the offset is decimal, from 1).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/protocol/frames.hpp"

namespace switchboard::protocol {


struct envelope_view {
  scope kind{};
  std::string_view target;
  std::string_view frame;
  std::uint64_t offset = 0;  // a stored message's offset; 0 for any other
};

// `offset` only for a stored room or user message.
std::string encode_envelope(scope kind, std::string_view target, std::string_view frame, std::uint64_t offset = 0);

// nullopt when the bytes are not an envelope of this version.
std::optional<envelope_view> decode_envelope(std::string_view bytes);

}  // namespace switchboard::protocol
