// The RESP codec on its own, fed literal bytes: no server needed.
#include "common/redis/reply.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>
#include <vector>

#include "common/redis/error.hpp"

namespace switchboard::redis {
namespace {

using namespace std::string_literals;

// Feeds everything, then takes one reply out, expecting no error.
reply_ptr read_one(reply_reader& reader, std::string_view bytes) {
  reader.feed(bytes.data(), bytes.size());
  error_code ec;
  reply_ptr reply = reader.next(ec);
  EXPECT_FALSE(ec) << ec.message();
  return reply;
}

TEST(reply_reader, status_error_integer_nil) {
  reply_reader reader;
  auto status = read_one(reader, "+OK\r\n");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(text_of(*status), "OK");

  auto error = read_one(reader, "-ERR wrong kind of value\r\n");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(text_of(*error), "ERR wrong kind of value");

  auto integer = read_one(reader, ":-9223372036854775808\r\n");
  ASSERT_TRUE(integer);
  EXPECT_EQ(integer->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(integer->integer, std::numeric_limits<long long>::min());

  auto nil = read_one(reader, "$-1\r\n");
  ASSERT_TRUE(nil);
  EXPECT_EQ(nil->type, REDIS_REPLY_NIL);

  auto nil_array = read_one(reader, "*-1\r\n");
  ASSERT_TRUE(nil_array);
  EXPECT_EQ(nil_array->type, REDIS_REPLY_NIL);
}

TEST(reply_reader, bulk_strings_are_binary_safe) {
  reply_reader reader;
  auto bulk = read_one(reader, "$7\r\na\r\nb\0c\r\r\n"s);
  ASSERT_TRUE(bulk);
  EXPECT_EQ(bulk->type, REDIS_REPLY_STRING);
  EXPECT_EQ(text_of(*bulk), "a\r\nb\0c\r"s);

  auto empty = read_one(reader, "$0\r\n\r\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(text_of(*empty), "");
}

TEST(reply_reader, nothing_until_the_reply_is_whole) {
  reply_reader reader;
  error_code ec;
  EXPECT_FALSE(reader.next(ec));
  EXPECT_FALSE(ec);
  const std::string bytes = "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$12\r\nhello\r\nthere\r\n";
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    reader.feed(&bytes[i], 1);
    ASSERT_FALSE(reader.next(ec)) << "complete after " << i + 1 << " of " << bytes.size() << " bytes";
    ASSERT_FALSE(ec);
  }
  reader.feed(&bytes.back(), 1);
  auto reply = reader.next(ec);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(reply->elements, 3u);
  EXPECT_EQ(text_of(*reply->element[0]), "message");
  EXPECT_EQ(text_of(*reply->element[1]), "room");
  EXPECT_EQ(text_of(*reply->element[2]), "hello\r\nthere");
  EXPECT_FALSE(reader.next(ec));
}

TEST(reply_reader, pipelined_replies_in_one_feed) {
  reply_reader reader;
  const std::string bytes = "+OK\r\n:1\r\n$-1\r\n$3\r\nfoo\r\n-ERR no\r\n:2\r\n$7\r\npar";
  reader.feed(bytes.data(), bytes.size());
  error_code ec;
  std::vector<int> types;
  while (auto reply = reader.next(ec)) types.push_back(reply->type);
  EXPECT_FALSE(ec);
  EXPECT_EQ(types, (std::vector<int>{REDIS_REPLY_STATUS, REDIS_REPLY_INTEGER, REDIS_REPLY_NIL, REDIS_REPLY_STRING,
                                     REDIS_REPLY_ERROR, REDIS_REPLY_INTEGER}));
  // The partial reply at the end completes with the next bytes.
  reader.feed("tial\r\n", 6);
  auto last = reader.next(ec);
  ASSERT_TRUE(last);
  EXPECT_EQ(text_of(*last), "partial");
}

TEST(reply_reader, nested_arrays) {
  reply_reader reader;
  auto reply = read_one(reader, "*3\r\n*2\r\n:1\r\n*1\r\n+deep\r\n*0\r\n$-1\r\n");
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(reply->elements, 3u);
  const redisReply& first = *reply->element[0];
  ASSERT_EQ(first.type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(first.elements, 2u);
  EXPECT_EQ(first.element[0]->integer, 1);
  ASSERT_EQ(first.element[1]->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(first.element[1]->elements, 1u);
  EXPECT_EQ(text_of(*first.element[1]->element[0]), "deep");
  EXPECT_EQ(reply->element[1]->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(reply->element[1]->elements, 0u);
  EXPECT_EQ(reply->element[2]->type, REDIS_REPLY_NIL);
}

TEST(reply_reader, garbage_is_a_protocol_error) {
  for (const char* garbage : {"?x\r\n", "hello\r\n", "\r\n", "%1\r\n"}) {
    reply_reader reader;
    reader.feed(garbage, std::strlen(garbage));
    error_code ec;
    EXPECT_FALSE(reader.next(ec)) << garbage;
    EXPECT_EQ(ec, make_error_code(errc::protocol_error)) << garbage;
  }
}

// An array header is an allocation: a peer announcing hundreds of millions
// of elements gets a protocol error, not gigabytes of memory.
TEST(reply_reader, a_huge_array_header_is_a_protocol_error) {
  for (const char* header : {"*777777770\r\n", "*2147483647\r\n", "*1\r\n*100000000\r\n"}) {
    reply_reader reader;
    reader.feed(header, std::strlen(header));
    error_code ec;
    EXPECT_FALSE(reader.next(ec)) << header;
    EXPECT_EQ(ec, make_error_code(errc::protocol_error)) << header;
  }
  reply_reader reader;
  std::string many = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) many += ":1\r\n";
  reader.feed(many.data(), many.size());
  error_code ec;
  auto reply = reader.next(ec);
  ASSERT_TRUE(reply) << ec.message();
  EXPECT_EQ(reply->elements, 1000u);
}

TEST(reply_reader, garbage_after_a_good_reply) {
  reply_reader reader;
  reader.feed("+OK\r\n?x\r\n", 9);
  error_code ec;
  auto ok = reader.next(ec);
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(reader.next(ec));
  EXPECT_EQ(ec, make_error_code(errc::protocol_error));
}

TEST(reply_reader, large_bulk_in_pieces) {
  reply_reader reader;
  const std::string value(1 << 20, 'v');
  const std::string bytes = "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  error_code ec;
  std::size_t offset = 0;
  reply_ptr reply;
  while (offset < bytes.size()) {
    std::size_t n = std::min<std::size_t>(16 * 1024 - 3, bytes.size() - offset);
    reader.feed(bytes.data() + offset, n);
    offset += n;
    reply = reader.next(ec);
    ASSERT_FALSE(ec);
    if (reply) break;
  }
  EXPECT_EQ(offset, bytes.size());
  ASSERT_TRUE(reply);
  EXPECT_EQ(text_of(*reply), value);
}

TEST(append_command, formats_resp_arrays) {
  std::string out;
  std::array<std::string_view, 3> set{"SET", "key", "value"};
  append_command(out, set);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  // Appends; arguments are binary-safe.
  const std::string binary = "a\0\r\nb"s;
  std::array<std::string_view, 2> publish{"PUBLISH", binary};
  append_command(out, publish);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$7\r\nPUBLISH\r\n$5\r\na\0\r\nb\r\n"s);
}

TEST(info_field, reads_a_field_of_an_info_reply) {
  const std::string info = "# Server\r\nredis_version:7.0.15\r\nrun_id:4d2c0ae1f\r\nrun_id_extra:no\r\ntcp_port:6379";
  EXPECT_EQ(info_field(info, "run_id"), "4d2c0ae1f");
  EXPECT_EQ(info_field(info, "tcp_port"), "6379") << "the last line, without a line end";
  EXPECT_EQ(info_field(info, "redis_version"), "7.0.15");
  // Only a whole name before the colon; a missing one, an empty name and
  // an empty reply give nothing.
  EXPECT_EQ(info_field(info, "run"), "");
  EXPECT_EQ(info_field(info, "Server"), "");
  EXPECT_EQ(info_field(info, ""), "");
  EXPECT_EQ(info_field("", "run_id"), "");
  EXPECT_EQ(info_field("run_id", "run_id"), "");
  EXPECT_EQ(info_field("\n\nrun_id:x\n", "run_id"), "x");
}

TEST(redis_error, category_names_every_code) {
  for (auto e : {errc::unavailable, errc::protocol_error, errc::server_error, errc::timeout, errc::closed}) {
    error_code ec = e;
    EXPECT_EQ(ec.category().name(), std::string("redis"));
    EXPECT_NE(ec.message(), "unknown redis error");
  }
}

}  // namespace
}  // namespace switchboard::redis
