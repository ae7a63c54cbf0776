#pragma once
// The Redis Cluster slot of a key or a sharded channel: CRC16 (XMODEM) of
// the key, or of its hash tag when it has one, modulo 16384. The tag is the
// text between the first '{' and the next '}', if that is not empty.

#include <cstdint>
#include <string_view>

namespace switchboard::redis {

inline constexpr std::uint16_t slot_count = 16384;

std::uint16_t crc16(std::string_view data);
std::string_view hash_tag(std::string_view key);  // what is hashed
std::uint16_t key_slot(std::string_view key);

}  // namespace switchboard::redis
