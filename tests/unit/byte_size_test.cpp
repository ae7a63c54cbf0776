#include "common/byte_size.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace switchboard {
namespace {

constexpr std::size_t kib = std::size_t{1} << 10;
constexpr std::size_t mib = std::size_t{1} << 20;
constexpr std::size_t gib = std::size_t{1} << 30;

TEST(byte_size, plain_numbers_are_bytes) {
  EXPECT_EQ(parse_byte_size("0"), 0u);
  EXPECT_EQ(parse_byte_size("65536"), 65536u);
  EXPECT_EQ(parse_byte_size("100B"), 100u);
}

TEST(byte_size, every_unit_is_binary) {
  EXPECT_EQ(parse_byte_size("64K"), 64 * kib);
  EXPECT_EQ(parse_byte_size("64k"), 64 * kib);
  EXPECT_EQ(parse_byte_size("64KB"), 64 * kib);
  EXPECT_EQ(parse_byte_size("64KiB"), 64 * kib);
  EXPECT_EQ(parse_byte_size("4M"), 4 * mib);
  EXPECT_EQ(parse_byte_size("4MB"), 4 * mib);
  EXPECT_EQ(parse_byte_size("4MiB"), 4 * mib);
  EXPECT_EQ(parse_byte_size("1G"), gib);
  EXPECT_EQ(parse_byte_size("1GB"), gib);
  EXPECT_EQ(parse_byte_size("1GiB"), gib);
}

TEST(byte_size, rejects_what_is_not_a_size) {
  for (const char* text : {"", "KiB", "-1", "+1", " 1", "1 ", "1 KiB", "12XB", "1.5MiB", "1TiB", "1KiBB", "0x10", "abc"})
    EXPECT_EQ(parse_byte_size(text), std::nullopt) << '"' << text << '"';
}

TEST(byte_size, rejects_overflow) {
  constexpr auto max = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(parse_byte_size(std::to_string(max)), max);
  EXPECT_EQ(parse_byte_size("18446744073709551616"), std::nullopt);  // 2^64
  EXPECT_EQ(parse_byte_size(std::to_string(max / gib) + "GiB"), max / gib * gib);
  EXPECT_EQ(parse_byte_size(std::to_string(max / gib + 1) + "GiB"), std::nullopt);
}

}  // namespace
}  // namespace switchboard
