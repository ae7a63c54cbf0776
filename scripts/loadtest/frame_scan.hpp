#pragma once
// The cheap receive path: what a server frame is and the numbers a delivery
// carries, found by scanning the text with memmem, without parsing JSON or
// allocating. Every delivery the load tester sends has
//   data: {"t":<scheduled send time, ns>,"p":<publisher>,"s":<sequence>[,"r":<room>][,"x":"<padding>"]}
// and the server passes `data` through (it may reorder the keys). The frame's
// other fields are ids and room names of ours, which hold no such keys.

#include <cstdint>
#include <optional>
#include <string_view>

namespace switchboard::load {

enum class frame_kind { message, ack, error, pong, welcome, presence, other };

frame_kind classify(std::string_view frame);

struct stamp {
  std::int64_t t = 0;
  std::int64_t p = 0;
  std::int64_t s = 0;
  std::int64_t r = -1;  // -1: no room
};

// The stamp of a delivery, or nullopt when the frame has none (not ours).
std::optional<stamp> scan_stamp(std::string_view frame);

// The integer after `key` (e.g. "\"ref\":"), or nullopt.
std::optional<std::int64_t> scan_int(std::string_view frame, std::string_view key);
// The string after `key` (e.g. "\"code\":\""), up to the closing quote; our
// fields hold no escapes.
std::optional<std::string_view> scan_string(std::string_view frame, std::string_view key);

}  // namespace switchboard::load
