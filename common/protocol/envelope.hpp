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

#include <optional>
#include <string>
#include <string_view>

#include "common/protocol/frames.hpp"

namespace switchboard::protocol {


struct envelope_view {
  scope kind{};
  std::string_view target;
  std::string_view frame;
};

std::string encode_envelope(scope kind, std::string_view target, std::string_view frame);

// nullopt when the bytes are not an envelope of this version.
std::optional<envelope_view> decode_envelope(std::string_view bytes);

}  // namespace switchboard::protocol
