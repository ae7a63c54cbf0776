#include "common/protocol/envelope.hpp"

#include <gtest/gtest.h>

namespace switchboard::protocol {
namespace {

using namespace std::string_literals;

TEST(envelope, round_trip_for_each_scope) {
  struct sample {
    scope kind;
    std::string target;
  };
  for (const auto& [kind, target] : {sample{scope::broadcast, ""}, sample{scope::direct, "0123456789abcdef.12"},
                                     sample{scope::room, "lobby with spaces \xc3\xa9"}, sample{scope::user, "alice"}}) {
    const std::string frame = R"({"type":"message","data":1})";
    std::string bytes = encode_envelope(kind, target, frame);
    auto decoded = decode_envelope(bytes);
    ASSERT_TRUE(decoded) << bytes;
    EXPECT_EQ(decoded->kind, kind);
    EXPECT_EQ(decoded->target, target);
    EXPECT_EQ(decoded->frame, frame);
  }
}

TEST(envelope, wire_format) {
  EXPECT_EQ(encode_envelope(scope::broadcast, "", "{}"), "1b\n{}");
  EXPECT_EQ(encode_envelope(scope::direct, "a.1", "{}"), "1da.1\n{}");
  EXPECT_EQ(encode_envelope(scope::room, "r", "{}"), "1rr\n{}");
  EXPECT_EQ(encode_envelope(scope::user, "alice", "{}"), "1ualice\n{}");
  // A broadcast has no target, whatever the caller passes.
  EXPECT_EQ(encode_envelope(scope::broadcast, "stray", "{}"), "1b\n{}");
}

TEST(envelope, frame_with_newlines_survives) {
  const std::string frame = "{\"data\":\"a\nb\"}\n\n";
  // The view points into the encoded bytes, which must outlive it.
  const std::string bytes = encode_envelope(scope::room, "r", frame);
  auto decoded = decode_envelope(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->target, "r");
  EXPECT_EQ(decoded->frame, frame);
}

TEST(envelope, binary_frame_survives) {
  const std::string frame = "x\0y\r\n\xff"s;
  const std::string bytes = encode_envelope(scope::direct, "id", frame);
  auto decoded = decode_envelope(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->frame, frame);
}

TEST(envelope, a_stored_message_carries_its_offset) {
  auto room = encode_envelope(scope::room, "chat: a b", "{}", 42);
  EXPECT_EQ(room, "1R42 chat: a b\n{}");
  auto decoded = decode_envelope(room);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->kind, scope::room);
  EXPECT_EQ(decoded->target, "chat: a b");
  EXPECT_EQ(decoded->offset, 42u);
  auto user_bytes = encode_envelope(scope::user, "alice", "{}", 7);
  auto user = decode_envelope(user_bytes);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->kind, scope::user);
  EXPECT_EQ(user->target, "alice");
  EXPECT_EQ(user->offset, 7u);
  EXPECT_EQ(decode_envelope("1rchat\n{}")->offset, 0u) << "an unstored message has none";
}

TEST(envelope, rejects_what_is_not_an_envelope) {
  for (const std::string& bytes : {
           ""s,
           "1"s,
           "1b"s,
           "1b\n"s,           // empty frame
           "1r\n"s,           // empty frame and no target
           "1rroom\n"s,       // empty frame
           "1b{}"s,           // no newline
           "1droom{}"s,       // no newline
           "2b\n{}"s,         // another version
           "0b\n{}"s,
           "b\n{}"s,
           "1x\n{}"s,         // unknown scope letter
           "1B\n{}"s,
           "1\n\n{}"s,
           "1bstray\n{}"s,    // broadcast with a target
           "1d\n{}"s,         // direct without a target
           "1r\n{}"s,         // room without a target
           "1R\n{}"s,         // stored without an offset
           "1Rchat\n{}"s,     // no offset before the room
           "1R chat\n{}"s,    // empty offset
           "1R0 chat\n{}"s,   // offsets start at 1
           "1R07 chat\n{}"s,  // one spelling per offset
           "1R1x chat\n{}"s,  // not a number
           "1R12 \n{}"s,      // no room
           "1R123456789012345678901 chat\n{}"s,  // longer than any offset
       })
    EXPECT_FALSE(decode_envelope(bytes)) << '"' << bytes << '"';
}

}  // namespace
}  // namespace switchboard::protocol
