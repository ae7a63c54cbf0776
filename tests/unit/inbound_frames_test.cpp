#include "server/net/inbound_frames.hpp"

#include <gtest/gtest.h>

#include <string>

namespace switchboard {
namespace {

// A client's frame: `first` (FIN and opcode), masked, `payload` bytes of 'x'.
std::string frame(unsigned char first, std::size_t payload) {
  std::string out(1, static_cast<char>(first));
  if (payload < 126) {
    out += static_cast<char>(0x80 | payload);
  } else if (payload <= 0xffff) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(payload >> 8);
    out += static_cast<char>(payload & 0xff);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int b = 7; b >= 0; --b) out += static_cast<char>((payload >> (8 * b)) & 0xff);
  }
  out += std::string("\x01\x02\x03\x04", 4);
  out += std::string(payload, 'x');
  return out;
}

constexpr unsigned char text_final = 0x81;
constexpr unsigned char text_first = 0x01;
constexpr unsigned char continuation_final = 0x80;
constexpr unsigned char ping = 0x89;
constexpr unsigned char pong = 0x8a;

void feed(inbound_frames& f, const std::string& bytes) { f.feed(bytes.data(), bytes.size()); }

TEST(inbound_frames, nothing_read_is_a_message_end) {
  inbound_frames f;
  EXPECT_TRUE(f.at_message_end());
  EXPECT_EQ(f.messages_ended(), 0u);
}

TEST(inbound_frames, counts_messages_and_stops_at_their_ends) {
  inbound_frames f;
  feed(f, frame(text_final, 10) + frame(text_final, 0) + frame(text_final, 300));
  EXPECT_EQ(f.messages_ended(), 3u);
  EXPECT_TRUE(f.at_message_end());
}

TEST(inbound_frames, a_frame_in_pieces_ends_only_with_its_last_byte) {
  inbound_frames f;
  const auto bytes = frame(text_final, 70000);  // a 64-bit length
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 997) {
    f.feed(bytes.data() + i, std::min<std::size_t>(997, bytes.size() - 1 - i));
    EXPECT_FALSE(f.at_message_end()) << "after " << i;
  }
  EXPECT_EQ(f.messages_ended(), 0u);
  f.feed(bytes.data() + bytes.size() - 1, 1);
  EXPECT_EQ(f.messages_ended(), 1u);
  EXPECT_TRUE(f.at_message_end());
  // A header split after its first byte.
  const auto next = frame(text_final, 5);
  f.feed(next.data(), 1);
  EXPECT_FALSE(f.at_message_end());
  f.feed(next.data() + 1, next.size() - 1);
  EXPECT_EQ(f.messages_ended(), 2u);
  EXPECT_TRUE(f.at_message_end());
}

TEST(inbound_frames, a_control_frame_after_a_message_is_not_a_message_end) {
  inbound_frames f;
  feed(f, frame(text_final, 3) + frame(ping, 0));
  EXPECT_EQ(f.messages_ended(), 1u);
  EXPECT_FALSE(f.at_message_end());
  feed(f, frame(text_final, 3));
  EXPECT_TRUE(f.at_message_end());
}

TEST(inbound_frames, a_fragmented_message_ends_with_its_final_frame) {
  inbound_frames f;
  feed(f, frame(text_first, 4) + frame(ping, 2));
  EXPECT_FALSE(f.at_message_end());
  feed(f, frame(continuation_final, 4));
  EXPECT_EQ(f.messages_ended(), 1u);
  EXPECT_TRUE(f.at_message_end());
}

TEST(inbound_frames, whole_pong_takes_only_a_complete_masked_pong) {
  const auto p = frame(pong, 5);
  const auto* b = reinterpret_cast<const unsigned char*>(p.data());
  EXPECT_EQ(inbound_frames::whole_pong(b, p.size()), p.size());
  EXPECT_EQ(inbound_frames::whole_pong(b, p.size() - 1), 0u);  // not all there yet
  const auto with_more = p + frame(text_final, 2);
  EXPECT_EQ(inbound_frames::whole_pong(reinterpret_cast<const unsigned char*>(with_more.data()), with_more.size()),
            p.size());
  const auto t = frame(text_final, 5);
  EXPECT_EQ(inbound_frames::whole_pong(reinterpret_cast<const unsigned char*>(t.data()), t.size()), 0u);
  std::string unmasked = p;
  unmasked[1] = static_cast<char>(5);
  EXPECT_EQ(inbound_frames::whole_pong(reinterpret_cast<const unsigned char*>(unmasked.data()), unmasked.size()), 0u);
}

}  // namespace
}  // namespace switchboard
