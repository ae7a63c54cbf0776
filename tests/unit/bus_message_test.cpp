// emit::prepare: what a program outside the server PUBLISHes, byte for byte,
// and every input it refuses (docs/protocol.md, "Publishing without HTTP").
#include "common/emit/bus_message.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/emit/error.hpp"
#include "common/protocol/envelope.hpp"

namespace switchboard::emit {
namespace {

using protocol::scope;

const redis_keys keys("sb:");

bus_message built(scope s, std::string_view target, std::string_view data) {
  auto out = prepare(keys, {s, target, data});
  EXPECT_FALSE(out.error) << out.error.message();
  EXPECT_TRUE(out.publish.has_value());
  return out.publish.value_or(bus_message{});
}

// Empty for a message that is built; a refused one has nothing to publish.
boost::system::error_code refusal(scope s, std::string_view target, std::string_view data = "null") {
  auto out = prepare(keys, {s, target, data});
  EXPECT_NE(out.error.failed(), out.publish.has_value());
  return out.error;
}

TEST(bus_message, a_room_message_is_the_room_channel_and_the_servers_frame) {
  auto m = built(scope::room, "chat:lobby", R"( { "text" : "hi", "n" : [1, 2] } )");
  EXPECT_EQ(m.channel, "sb:room:{chat:lobby}");
  EXPECT_EQ(m.envelope,
            "1rchat:lobby\n"
            R"({"type":"message","scope":"room","from":"server","room":"chat:lobby","data":{"n":[1,2],"text":"hi"}})");
}

TEST(bus_message, a_user_message_goes_to_the_users_channel) {
  auto m = built(scope::user, "alice", R"("hi")");
  EXPECT_EQ(m.channel, "sb:users");
  EXPECT_EQ(m.envelope, "1ualice\n" R"({"type":"message","scope":"user","from":"server","user":"alice","data":"hi"})");
}

TEST(bus_message, a_room_named_user_colon_u_is_a_message_to_that_user) {
  auto via_room = built(scope::room, "user:alice", "1");
  auto direct = built(scope::user, "alice", "1");
  EXPECT_EQ(via_room.channel, direct.channel);
  EXPECT_EQ(via_room.envelope, direct.envelope);
  EXPECT_EQ(refusal(scope::room, "user:"), errc::bad_user);
}

TEST(bus_message, a_broadcast_has_no_target) {
  auto m = built(scope::broadcast, "ignored", "[true,null]");
  EXPECT_EQ(m.channel, "sb:broadcast");
  EXPECT_EQ(m.envelope, "1b\n" R"({"type":"message","scope":"broadcast","from":"server","data":[true,null]})");
}

TEST(bus_message, a_direct_message_goes_to_the_channel_of_the_worker_named_in_the_id) {
  auto m = built(scope::direct, "0123456789abcdef.42", "7");
  EXPECT_EQ(m.channel, "sb:direct:{0123456789abcdef}");
  EXPECT_EQ(m.envelope, "1d0123456789abcdef.42\n"
                        R"({"type":"message","scope":"direct","from":"server","to":"0123456789abcdef.42","data":7})");
}

TEST(bus_message, a_well_formed_id_no_worker_hands_out_reaches_nobody_without_an_error) {
  auto out = prepare(keys, {scope::direct, "not-a-worker.1", "1"});
  EXPECT_FALSE(out.error);
  EXPECT_FALSE(out.publish.has_value());
  // Its data is still checked.
  EXPECT_EQ(refusal(scope::direct, "not-a-worker.1", "{"), errc::bad_json);
}

TEST(bus_message, the_prefix_starts_every_channel) {
  const redis_keys other("app1:");
  EXPECT_EQ(prepare(other, {scope::room, "r", "1"}).publish->channel, "app1:room:{r}");
  EXPECT_EQ(prepare(other, {scope::user, "u", "1"}).publish->channel, "app1:users");
  EXPECT_EQ(prepare(other, {scope::broadcast, {}, "1"}).publish->channel, "app1:broadcast");
}

TEST(bus_message, the_envelope_decodes_as_the_workers_decode_it) {
  auto m = built(scope::room, "r ü", R"({"a":"b"})");
  auto decoded = protocol::decode_envelope(m.envelope);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->kind, scope::room);
  EXPECT_EQ(decoded->target, "r ü");
  EXPECT_EQ(decoded->frame, R"({"type":"message","scope":"room","from":"server","room":"r ü","data":{"a":"b"}})");
}

TEST(bus_message, room_names_and_user_ids_follow_the_protocols_rule) {
  EXPECT_FALSE(refusal(scope::room, std::string(128, 'r')));
  EXPECT_EQ(refusal(scope::room, std::string(129, 'r')), errc::bad_room);
  EXPECT_EQ(refusal(scope::room, ""), errc::bad_room);
  EXPECT_EQ(refusal(scope::room, "a\nb"), errc::bad_room);   // C0: would end the envelope's header
  EXPECT_EQ(refusal(scope::room, "a\x7f"), errc::bad_room);  // DEL
  EXPECT_EQ(refusal(scope::room, "a\xc2\x85"), errc::bad_room);  // C1 (U+0085)
  EXPECT_EQ(refusal(scope::user, ""), errc::bad_user);
  EXPECT_EQ(refusal(scope::user, "tab\there"), errc::bad_user);
  EXPECT_FALSE(refusal(scope::user, "ünïcødé \xf0\x9f\x98\x80"));
}

TEST(bus_message, names_must_be_well_formed_utf8) {
  for (std::string bad : {"\xff", "a\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf0\x9f\x98", "\x80"}) {
    EXPECT_EQ(refusal(scope::room, bad), errc::bad_room) << testing::PrintToString(bad);
    EXPECT_EQ(refusal(scope::user, bad), errc::bad_user) << testing::PrintToString(bad);
  }
  EXPECT_FALSE(refusal(scope::room, "\xed\x9f\xbf\xf4\x8f\xbf\xbf"));  // U+D7FF, U+10FFFF
}

TEST(bus_message, connection_ids_are_1_to_64_characters_of_the_id_alphabet) {
  EXPECT_FALSE(refusal(scope::direct, "0123456789abcdef." + std::string(47, '9')));
  EXPECT_EQ(refusal(scope::direct, std::string(65, 'a')), errc::bad_id);
  EXPECT_EQ(refusal(scope::direct, ""), errc::bad_id);
  EXPECT_EQ(refusal(scope::direct, "a b"), errc::bad_id);
  EXPECT_EQ(refusal(scope::direct, "a/b"), errc::bad_id);
}

TEST(bus_message, data_must_be_exactly_one_json_value) {
  for (std::string bad : {"", " ", "{", "nul", "1 2", "{\"a\":1}}", "'single'", "\"\xff\"", "[1,]"})
    EXPECT_EQ(refusal(scope::broadcast, {}, bad), errc::bad_json) << testing::PrintToString(bad);
  for (std::string good : {"null", "0", "-1.5e3", "\"\"", "[]", "{}", " true \r\n"})
    EXPECT_FALSE(refusal(scope::broadcast, {}, good)) << good;
}

TEST(bus_message, data_may_nest_as_deep_as_a_clients_data) {
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  EXPECT_FALSE(refusal(scope::broadcast, {}, nested(max_data_depth)));
  EXPECT_EQ(refusal(scope::broadcast, {}, nested(max_data_depth + 1)), errc::too_deep);
  // Far too deep is refused the same way, without recursing.
  EXPECT_EQ(refusal(scope::broadcast, {}, nested(100000)), errc::too_deep);
}

TEST(bus_message, member_events_are_the_workers_own) {
  EXPECT_EQ(refusal(scope::member, "0123456789abcdef.1 room"), errc::bad_scope);
}

TEST(bus_message, every_refusal_says_what_is_wrong) {
  EXPECT_NE(make_error_code(errc::bad_room).message().find("room"), std::string::npos);
  EXPECT_NE(make_error_code(errc::bad_user).message().find("user"), std::string::npos);
  EXPECT_NE(make_error_code(errc::bad_id).message().find("id"), std::string::npos);
  EXPECT_NE(make_error_code(errc::bad_json).message().find("JSON"), std::string::npos);
  EXPECT_NE(make_error_code(errc::too_deep).message().find(std::to_string(max_data_depth)), std::string::npos);
  EXPECT_NE(make_error_code(errc::bad_scope).message().find("scope"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::emit
