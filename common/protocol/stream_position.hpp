#pragma once
// A place in a room's history (PROTOCOL.md, "History and recovery"): the
// offset of a message, counted 1, 2, 3, ... within an epoch, the name of one
// unbroken run of offsets. Offset 0 is the place before the first message.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::protocol {

struct stream_position {
  std::uint64_t offset = 0;
  std::string epoch;

  bool operator==(const stream_position&) const = default;
};

// Epochs are made by the server (hex) and echoed by clients; anything
// longer than this in a request is refused.
inline constexpr std::size_t max_epoch_bytes = 64;

// What a join with `since` found (a label of the recoveries metric):
// every message after it followed, or none did because the room's history
// is another (or the position is past its end), or because the messages
// after it are no longer all kept.
enum class recovery_outcome { recovered, epoch_changed, too_old };
inline constexpr std::size_t recovery_outcome_count = 3;
constexpr std::string_view to_string(recovery_outcome o) {
  switch (o) {
    case recovery_outcome::recovered: return "recovered";
    case recovery_outcome::epoch_changed: return "epoch_changed";
    case recovery_outcome::too_old: return "too_old";
  }
  return "unknown";
}

}  // namespace switchboard::protocol
