#include "common/protocol/frames.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchboard::protocol {
namespace {

using json = nlohmann::json;

// Parses a frame, failing the test (not crashing it) on invalid JSON.
json parse_frame(const std::string& frame) {
  json doc = json::parse(frame, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << "not JSON: " << frame;
  EXPECT_TRUE(doc.is_object()) << frame;
  return doc;
}

// Names that need escaping. The last is not UTF-8: json_quote replaces its
// bad bytes with U+FFFD, so it is the one name that does not compare equal.
const std::string odd_names[] = {
    "plain",
    "with \"quotes\"",
    "back\\slash",
    "new\nline\ttab\r",
    std::string("nul\0byte", 8),
    "\x01\x1f\x7f",
    "caf\xc3\xa9 \xf0\x9f\x92\xac",
    "</script>",
    "bad utf-8 \xff\xfe",
};

TEST(frames, error_codes_are_the_protocol_names) {
  EXPECT_EQ(to_string(error_kind::bad_json), "bad_json");
  EXPECT_EQ(to_string(error_kind::bad_request), "bad_request");
  EXPECT_EQ(to_string(error_kind::unknown_type), "unknown_type");
  EXPECT_EQ(to_string(error_kind::unsupported), "unsupported");
  EXPECT_EQ(to_string(error_kind::too_many_rooms), "too_many_rooms");
  EXPECT_EQ(to_string(error_kind::rate_limited), "rate_limited");
  EXPECT_EQ(to_string(error_kind::unavailable), "unavailable");
  EXPECT_EQ(to_string(error_kind::forbidden), "forbidden");
}

TEST(frames, member_events) {
  EXPECT_EQ(json::parse(member_frame(true, "r", "a.1", "alice")),
            (json{{"type", "member"}, {"event", "joined"}, {"room", "r"}, {"id", "a.1"}, {"user", "alice"}}));
  EXPECT_EQ(json::parse(member_frame(false, "r", "a.1", "")),
            (json{{"type", "member"}, {"event", "left"}, {"room", "r"}, {"id", "a.1"}}));
}

TEST(frames, left_names_the_room_and_the_reason) {
  EXPECT_EQ(json::parse(left_frame("chat:\"a\"", "forbidden")),
            (json{{"type", "left"}, {"room", "chat:\"a\""}, {"reason", "forbidden"}}));
}

TEST(frames, json_quote) {
  EXPECT_EQ(json_quote("abc"), R"("abc")");
  EXPECT_EQ(json_quote(""), R"("")");
  EXPECT_EQ(json_quote("a\"b\\c\n"), R"("a\"b\\c\n")");
  for (const auto& name : odd_names) {
    json doc = json::parse(json_quote(name), nullptr, false);
    ASSERT_TRUE(doc.is_string()) << json_quote(name);
    if (name.find('\xff') == std::string::npos) {
      EXPECT_EQ(doc.get<std::string>(), name);
    }
  }
}

TEST(frames, welcome) {
  json doc = parse_frame(welcome_frame("0123456789abcdef.1", "node-a", 3));
  EXPECT_EQ(doc, (json{{"type", "welcome"}, {"id", "0123456789abcdef.1"}, {"node", "node-a"}, {"worker", 3}}));
}

TEST(frames, welcome_with_a_user) {
  json doc = parse_frame(welcome_frame("0123456789abcdef.1", "node-a", 3, "al\"ice"));
  EXPECT_EQ(doc, (json{{"type", "welcome"}, {"id", "0123456789abcdef.1"}, {"node", "node-a"}, {"worker", 3},
                       {"user", "al\"ice"}}));
}

TEST(frames, message_from_a_user_carries_from_user) {
  EXPECT_EQ(parse_frame(message_frame(scope::room, "a.1", "lobby", "1", "alice")),
            (json{{"type", "message"}, {"scope", "room"}, {"from", "a.1"}, {"from_user", "alice"}, {"room", "lobby"},
                  {"data", 1}}));
}

TEST(frames, welcome_quotes_odd_node_names) {
  for (const auto& node : odd_names) {
    json doc = parse_frame(welcome_frame("id", node, 0));
    ASSERT_TRUE(doc.contains("node")) << node;
    ASSERT_TRUE(doc["node"].is_string());
    if (node.find('\xff') == std::string::npos) {
      EXPECT_EQ(doc["node"], node);
    }
    EXPECT_EQ(doc.size(), 4u);
  }
}

TEST(frames, ack) {
  EXPECT_EQ(parse_frame(ack_frame("7")), (json{{"type", "ack"}, {"ref", 7}}));
  EXPECT_EQ(parse_frame(ack_frame(R"("r-1")")), (json{{"type", "ack"}, {"ref", "r-1"}}));
}

TEST(frames, pong) {
  EXPECT_EQ(parse_frame(pong_frame(std::nullopt)), (json{{"type", "pong"}}));
  EXPECT_EQ(parse_frame(pong_frame("-5")), (json{{"type", "pong"}, {"ref", -5}}));
}

TEST(frames, error) {
  EXPECT_EQ(parse_frame(error_frame(error_kind::unknown_type, "unknown type: x", std::nullopt)),
            (json{{"type", "error"}, {"code", "unknown_type"}, {"message", "unknown type: x"}}));
  EXPECT_EQ(parse_frame(error_frame(error_kind::bad_request, "say \"why\"\n", R"("abc")")),
            (json{{"type", "error"}, {"code", "bad_request"}, {"message", "say \"why\"\n"}, {"ref", "abc"}}));
}

TEST(frames, presence) {
  EXPECT_EQ(parse_frame(presence_frame("lobby", {}, std::nullopt)),
            (json{{"type", "presence"}, {"room", "lobby"}, {"members", json::array()}}));
  EXPECT_EQ(parse_frame(presence_frame("lobby", {"a.1", "b.2"}, "4")),
            (json{{"type", "presence"}, {"room", "lobby"}, {"members", {"a.1", "b.2"}}, {"ref", 4}}));
}

TEST(frames, message_for_each_scope) {
  const std::string data = R"({"text":"hi","n":[1,2]})";
  EXPECT_EQ(parse_frame(message_frame(scope::broadcast, "a.1", "ignored", data)),
            (json{{"type", "message"}, {"scope", "broadcast"}, {"from", "a.1"}, {"data", json::parse(data)}}));
  EXPECT_EQ(parse_frame(message_frame(scope::direct, "a.1", "b.2", data)),
            (json{{"type", "message"}, {"scope", "direct"}, {"from", "a.1"}, {"to", "b.2"}, {"data", json::parse(data)}}));
  EXPECT_EQ(
      parse_frame(message_frame(scope::room, "server", "lobby", "null")),
      (json{{"type", "message"}, {"scope", "room"}, {"from", "server"}, {"room", "lobby"}, {"data", nullptr}}));
  EXPECT_EQ(parse_frame(message_frame(scope::user, "a.1", "alice", "1", "bob")),
            (json{{"type", "message"},
                  {"scope", "user"},
                  {"from", "a.1"},
                  {"from_user", "bob"},
                  {"user", "alice"},
                  {"data", 1}}));
}

TEST(frames, odd_room_names_are_quoted) {
  for (const auto& room : odd_names) {
    for (const std::string& frame :
         {message_frame(scope::room, "a.1", room, "1"), presence_frame(room, {"a.1"}, std::nullopt)}) {
      json doc = parse_frame(frame);
      ASSERT_TRUE(doc.contains("room")) << frame;
      ASSERT_TRUE(doc["room"].is_string());
      if (room.find('\xff') == std::string::npos) {
        EXPECT_EQ(doc["room"], room);
      }
    }
  }
}

TEST(frames, scope_names) {
  EXPECT_EQ(to_string(scope::broadcast), "broadcast");
  EXPECT_EQ(to_string(scope::direct), "direct");
  EXPECT_EQ(to_string(scope::room), "room");
}

TEST(frames, a_stored_message_is_its_head_and_its_place) {
  auto head = message_frame_head(scope::room, "a.1", "chat", "[1]", "ann");
  EXPECT_EQ(head + "}", message_frame(scope::room, "a.1", "chat", "[1]", "ann"));
  auto stored = json::parse(head + ",\"offset\":3,\"epoch\":\"e\"}");
  EXPECT_EQ(stored["offset"], 3);
  EXPECT_EQ(stored["room"], "chat");
}

TEST(frames, join_ack_carries_the_place_and_the_outcome) {
  auto ack = json::parse(join_ack_frame("\"r1\"", {12, "abc"}, true));
  EXPECT_EQ(ack, json::parse(R"({"type":"ack","ref":"r1","offset":12,"epoch":"abc","recovered":true})"));
  auto plain = json::parse(join_ack_frame(std::nullopt, {0, "abc"}, false));
  EXPECT_FALSE(plain.contains("ref"));
  EXPECT_EQ(plain["recovered"], false);
}

TEST(frames, history_lists_stored_frames_in_order) {
  std::vector<std::string> stored{R"({"type":"message","offset":1})", R"({"type":"message","offset":2})"};
  auto frame = json::parse(history_frame("chat", stored, {2, "e"}, "7"));
  EXPECT_EQ(frame["type"], "history");
  EXPECT_EQ(frame["room"], "chat");
  ASSERT_EQ(frame["messages"].size(), 2u);
  EXPECT_EQ(frame["messages"][1]["offset"], 2);
  EXPECT_EQ(frame["offset"], 2);
  EXPECT_EQ(frame["epoch"], "e");
  EXPECT_EQ(frame["ref"], 7);
  EXPECT_EQ(json::parse(history_frame("chat", {}, {0, "e"}, std::nullopt))["messages"], json::array());
}

}  // namespace
}  // namespace switchboard::protocol
