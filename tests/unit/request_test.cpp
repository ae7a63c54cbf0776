#include "common/protocol/request.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace switchboard::protocol {
namespace {

using json = nlohmann::json;

request parse_ok(std::string_view text) {
  auto result = parse_request(text);
  if (auto* error = std::get_if<request_error>(&result)) {
    ADD_FAILURE() << "rejected " << text << ": " << to_string(error->kind) << ": " << error->message;
    return {};
  }
  return std::get<request>(result);
}

request_error parse_error(std::string_view text) {
  auto result = parse_request(text);
  if (std::holds_alternative<request>(result)) {
    ADD_FAILURE() << "accepted " << text.substr(0, 200);
    return {};
  }
  return std::get<request_error>(result);
}

// A request with `field` set to `value` (JSON text) on top of the others.
std::string with(std::string type, const char* field, const std::string& value) {
  return R"({"type":")" + type + R"(",")" + field + "\":" + value + "}";
}

std::string room_request(const std::string& room) { return with("join", "room", json(room).dump()); }

TEST(request, every_type_parses) {
  auto broadcast = parse_ok(R"({"type":"broadcast","data":{"text":"hi"},"ref":1})");
  EXPECT_EQ(broadcast.type, request_type::broadcast);
  EXPECT_EQ(broadcast.ref, "1");
  EXPECT_EQ(json::parse(broadcast.data), json::parse(R"({"text":"hi"})"));

  auto direct = parse_ok(R"({"type":"direct","to":"0123456789abcdef.7","data":"psst"})");
  EXPECT_EQ(direct.type, request_type::direct);
  EXPECT_EQ(direct.to, "0123456789abcdef.7");
  EXPECT_EQ(direct.data, R"("psst")");
  EXPECT_EQ(direct.ref, std::nullopt);

  auto join = parse_ok(R"({"type":"join","room":"lobby"})");
  EXPECT_EQ(join.type, request_type::join);
  EXPECT_EQ(join.room, "lobby");

  auto leave = parse_ok(R"({"type":"leave","room":"lobby","ref":"x"})");
  EXPECT_EQ(leave.type, request_type::leave);
  EXPECT_EQ(leave.room, "lobby");
  EXPECT_EQ(leave.ref, R"("x")");

  auto room = parse_ok(R"({"type":"room","room":"lobby","data":[1,2,3]})");
  EXPECT_EQ(room.type, request_type::room);
  EXPECT_EQ(room.room, "lobby");
  EXPECT_EQ(json::parse(room.data), json::parse("[1,2,3]"));

  auto presence = parse_ok(R"({"type":"presence","room":"lobby","ref":9})");
  EXPECT_EQ(presence.type, request_type::presence);
  EXPECT_EQ(presence.room, "lobby");

  auto ping = parse_ok(R"({"type":"ping"})");
  EXPECT_EQ(ping.type, request_type::ping);
  EXPECT_EQ(ping.ref, std::nullopt);
}

// The names come from to_string, so the parser and the metrics labels
// cannot disagree on them.
TEST(request, every_type_name_parses_to_its_type) {
  for (std::size_t i = 0; i < request_type_count; ++i) {
    auto type = static_cast<request_type>(i);
    std::string name(to_string(type));
    auto req = parse_ok(R"({"type":")" + name + R"(","to":"a","room":"r","data":1,"token":"t"})");
    EXPECT_EQ(req.type, type) << name;
  }
  EXPECT_EQ(to_string(request_type::presence), "presence");
  EXPECT_EQ(parse_error(R"({"type":"unknown"})").kind, error_kind::unknown_type);
}

TEST(request, malformed_json_is_bad_json) {
  for (const char* text : {"", "{", "}", "{\"type\":}", "{\"type\":\"ping\"", "{'type':'ping'}",
                           "{\"type\":\"ping\"} {}", "{\"type\":\"ping\",}", "nul", "{\"type\":\"\xff\"}"}) {
    auto error = parse_error(text);
    EXPECT_EQ(error.kind, error_kind::bad_json) << text;
    EXPECT_EQ(error.ref, std::nullopt);
  }
}

TEST(request, non_object_is_bad_json) {
  for (const char* text : {"[]", "[{\"type\":\"ping\"}]", "\"ping\"", "1", "null", "true"})
    EXPECT_EQ(parse_error(text).kind, error_kind::bad_json) << text;
}

TEST(request, type_must_be_a_string) {
  for (const char* text : {R"({})", R"({"type":1,"ref":4})", R"({"type":null,"ref":4})", R"({"type":["ping"],"ref":4})",
                           R"({"Type":"ping","ref":4})"}) {
    auto error = parse_error(text);
    EXPECT_EQ(error.kind, error_kind::bad_request) << text;
    if (std::string_view(text) != "{}") {
      EXPECT_EQ(error.ref, "4") << text;
    }
  }
}

TEST(request, wrong_field_kinds_are_bad_requests) {
  for (const std::string& text : {
           with("join", "room", "5"),
           with("join", "room", "null"),
           with("join", "room", R"(["lobby"])"),
           with("presence", "room", "{}"),
           std::string(R"({"type":"room","room":7,"data":1})"),
           std::string(R"({"type":"room","data":1})"),
           with("direct", "to", "12"),
           std::string(R"({"type":"direct","data":1})"),
           std::string(R"({"type":"direct","to":null,"data":1})"),
           std::string(R"({"type":"leave"})"),
       })
    EXPECT_EQ(parse_error(text).kind, error_kind::bad_request) << text;
}

TEST(request, missing_data_is_bad_request_but_null_is_data) {
  for (const char* text : {R"({"type":"broadcast","ref":3})", R"({"type":"direct","to":"a","ref":3})",
                           R"({"type":"room","room":"r","ref":3})"}) {
    auto error = parse_error(text);
    EXPECT_EQ(error.kind, error_kind::bad_request) << text;
    EXPECT_EQ(error.ref, "3") << text;
  }
  EXPECT_EQ(parse_ok(R"({"type":"broadcast","data":null})").data, "null");
  EXPECT_EQ(parse_ok(R"({"type":"direct","to":"a","data":null})").data, "null");
  EXPECT_EQ(parse_ok(R"({"type":"room","room":"r","data":null})").data, "null");
}

TEST(request, integer_and_short_string_refs_are_echoed) {
  EXPECT_EQ(parse_ok(with("ping", "ref", "0")).ref, "0");
  EXPECT_EQ(parse_ok(with("ping", "ref", "-42")).ref, "-42");
  EXPECT_EQ(parse_ok(with("ping", "ref", "18446744073709551615")).ref, "18446744073709551615");
  EXPECT_EQ(parse_ok(with("ping", "ref", R"("")")).ref, R"("")");
  EXPECT_EQ(parse_ok(with("ping", "ref", R"("a\"b")")).ref, R"("a\"b")");

  std::string longest(64, 'r');
  EXPECT_EQ(parse_ok(with("ping", "ref", json(longest).dump())).ref, json(longest).dump());
  // The limit counts bytes, not characters: 32 two-byte characters fit.
  std::string wide;
  for (int i = 0; i < 32; ++i) wide += "\xc3\xa9";
  auto echoed = parse_ok(with("ping", "ref", json(wide).dump())).ref;
  ASSERT_TRUE(echoed);
  EXPECT_EQ(json::parse(*echoed), wide);
}

TEST(request, other_refs_are_bad_requests) {
  std::string too_long(65, 'r');
  std::string too_wide;
  for (int i = 0; i < 33; ++i) too_wide += "\xc3\xa9";
  for (const std::string& ref : {json(too_long).dump(), json(too_wide).dump(), std::string("1.5"), std::string("1.0"),
                                 std::string("1e3"), std::string("null"), std::string("true"), std::string("false"),
                                 std::string("[1]"), std::string("{\"a\":1}")}) {
    auto error = parse_error(with("ping", "ref", ref));
    EXPECT_EQ(error.kind, error_kind::bad_request) << ref;
    EXPECT_EQ(error.ref, std::nullopt) << ref;
  }
}

TEST(request, unknown_types_echo_ref) {
  for (const char* type : {"welcome", "message", "ack", "error", "pong", "", "PING", "broadcast "}) {
    auto error = parse_error(std::string(R"({"type":")") + type + R"(","ref":"q1","data":1})");
    EXPECT_EQ(error.kind, error_kind::unknown_type) << type;
    EXPECT_EQ(error.ref, R"("q1")") << type;
  }
}

TEST(request, errors_after_the_ref_echo_it) {
  auto error = parse_error(R"({"type":"join","room":"","ref":12})");
  EXPECT_EQ(error.kind, error_kind::bad_request);
  EXPECT_EQ(error.ref, "12");
}

TEST(request, room_name_rules) {
  EXPECT_TRUE(is_valid_room_name("lobby"));
  EXPECT_TRUE(is_valid_room_name("a room with spaces"));
  EXPECT_TRUE(is_valid_room_name("\xc3\xa9t\xc3\xa9"));    // été
  EXPECT_TRUE(is_valid_room_name("\xc2\xa0"));             // U+00A0, just past C1
  EXPECT_TRUE(is_valid_room_name("\xf0\x9f\x92\xac"));     // U+1F4AC
  EXPECT_TRUE(is_valid_room_name(std::string(128, 'r')));
  EXPECT_FALSE(is_valid_room_name(std::string(129, 'r')));
  EXPECT_FALSE(is_valid_room_name(""));
  for (char c : {'\x00', '\x01', '\t', '\n', '\r', '\x1f', '\x7f'})
    EXPECT_FALSE(is_valid_room_name(std::string("a") + c + "b")) << int(c);
  EXPECT_FALSE(is_valid_room_name("a\xc2\x80"));   // U+0080
  EXPECT_FALSE(is_valid_room_name("\xc2\x9f z"));  // U+009F

  std::string wide;  // 64 two-byte characters: 128 bytes
  for (int i = 0; i < 64; ++i) wide += "\xc3\xa9";
  EXPECT_TRUE(is_valid_room_name(wide));
  EXPECT_FALSE(is_valid_room_name(wide + "x"));
}

TEST(request, room_names_in_requests) {
  EXPECT_EQ(parse_ok(room_request(std::string(128, 'r'))).room, std::string(128, 'r'));
  EXPECT_EQ(parse_error(room_request(std::string(129, 'r'))).kind, error_kind::bad_request);
  EXPECT_EQ(parse_error(room_request("")).kind, error_kind::bad_request);
  for (const char* escaped : {"\\u0000", "\\u0001", "\\n", "\\u001f", "\\u007f", "\\u0080", "\\u009f"}) {
    std::string text = std::string(R"({"type":"join","room":"a)") + escaped + R"(b"})";
    EXPECT_EQ(parse_error(text).kind, error_kind::bad_request) << text;
  }
  EXPECT_EQ(parse_ok(R"({"type":"join","room":"a\u00a0b"})").room, "a\xc2\xa0" "b");
  EXPECT_EQ(parse_ok(R"({"type":"join","room":"caf\u00e9 \"x\""})").room, "caf\xc3\xa9 \"x\"");
}

TEST(request, direct_to_a_user) {
  auto req = parse_ok(R"({"type":"direct","user":"alice","data":1})");
  EXPECT_EQ(req.user, "alice");
  EXPECT_EQ(req.to, "");
  EXPECT_EQ(parse_error(R"({"type":"direct","user":"alice","to":"a.1","data":1})").message,
            "direct takes to or user, not both");
  EXPECT_EQ(parse_error(R"({"type":"direct","user":7,"data":1})").message, "user must be a string");
  EXPECT_EQ(parse_error(R"({"type":"direct","user":"","data":1})").kind, error_kind::bad_request);
  EXPECT_EQ(parse_error(R"({"type":"direct","user":"a\u0001","data":1})").kind, error_kind::bad_request);
  EXPECT_EQ(parse_error(R"({"type":"direct","user":"alice"})").message, "data is missing");
}

TEST(request, personal_rooms_name_their_user) {
  EXPECT_EQ(personal_room_user("user:alice"), "alice");
  EXPECT_EQ(personal_room_user("user:"), "");
  EXPECT_EQ(personal_room_user("users:alice"), std::nullopt);
  EXPECT_EQ(personal_room_user("User:alice"), std::nullopt);
  EXPECT_EQ(personal_room_user("lobby"), std::nullopt);
}

TEST(request, join_may_ask_for_member_events) {
  EXPECT_TRUE(parse_ok(R"({"type":"join","room":"r","events":true})").events);
  EXPECT_FALSE(parse_ok(R"({"type":"join","room":"r","events":false})").events);
  EXPECT_FALSE(parse_ok(R"({"type":"join","room":"r"})").events);
  EXPECT_EQ(parse_error(R"({"type":"join","room":"r","events":1})").message, "events must be true or false");
}

TEST(request, refresh_carries_its_token) {
  auto req = parse_ok(R"({"type":"refresh","token":"a.b.c","ref":4})");
  EXPECT_EQ(req.type, request_type::refresh);
  EXPECT_EQ(req.token, "a.b.c");
  EXPECT_EQ(req.ref, "4");
  // The verifier judges the token; the parser only wants a string.
  EXPECT_EQ(parse_ok(R"({"type":"refresh","token":""})").token, "");
  for (const char* bad : {R"({"type":"refresh"})", R"({"type":"refresh","token":7})",
                          R"({"type":"refresh","token":null,"ref":"r"})"}) {
    auto err = parse_error(bad);
    EXPECT_EQ(err.kind, error_kind::bad_request) << bad;
    EXPECT_EQ(err.message, "token must be a string") << bad;
  }
  EXPECT_EQ(parse_error(R"({"type":"refresh","ref":"r"})").ref, "\"r\"");
}

TEST(request, client_id_rules) {
  EXPECT_TRUE(is_valid_client_id("a"));
  EXPECT_TRUE(is_valid_client_id("0123456789abcdef.42"));
  EXPECT_TRUE(is_valid_client_id("AZaz09._:-"));
  EXPECT_TRUE(is_valid_client_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_client_id(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_client_id(""));
  for (const char* id : {"a b", "a/b", "a\nb", "a\"b", "caf\xc3\xa9", "a+b", "a@b"})
    EXPECT_FALSE(is_valid_client_id(id)) << id;
  EXPECT_FALSE(is_valid_client_id(std::string("a\0b", 3)));

  EXPECT_EQ(parse_ok(with("direct", "to", R"("peer-1","data":0)")).to, "peer-1");
  EXPECT_EQ(parse_error(with("direct", "to", json(std::string(65, 'x')).dump() + R"(,"data":0)")).kind,
            error_kind::bad_request);
  EXPECT_EQ(parse_error(with("direct", "to", R"("a b","data":0)")).kind, error_kind::bad_request);
  EXPECT_EQ(parse_error(with("direct", "to", R"("","data":0)")).kind, error_kind::bad_request);
}

TEST(request, data_is_preserved_as_equal_json) {
  const char* values[] = {
      R"(null)",
      R"(true)",
      R"(0)",
      R"(-17)",
      R"(18446744073709551615)",
      R"(-9223372036854775808)",
      R"(3.141592653589793)",
      R"(1e300)",
      R"(-0.0)",
      R"("")",
      R"("line\nbreak \"quoted\" back\\slash \u0000 nul")",
      R"("caf\u00e9 \ud83d\udcac")",
      R"([])",
      R"({})",
      R"({"nested":{"list":[1,"two",{"three":3}],"empty":{}},"flag":false})",
  };
  for (const char* value : values) {
    auto req = parse_ok(std::string(R"({"type":"broadcast","data":)") + value + "}");
    EXPECT_EQ(json::parse(req.data), json::parse(value)) << value;
  }
}

TEST(request, large_frame_near_64_kib) {
  std::string payload(64 * 1024 - 100, 'x');
  std::string text = R"({"type":"room","room":"big","ref":1,"data":")" + payload + "\"}";
  ASSERT_LT(text.size(), 64u * 1024);
  auto req = parse_ok(text);
  EXPECT_EQ(json::parse(req.data), payload);

  json many = json::array();
  for (int i = 0; i < 6000; ++i) many.push_back(i);
  auto list = parse_ok(R"({"type":"broadcast","data":)" + many.dump() + "}");
  EXPECT_EQ(json::parse(list.data), many);
}

std::string nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(request, nesting_up_to_the_limit_is_accepted) {
  // The request object is one level, so data may add max_json_depth - 1.
  std::string data = nested(max_json_depth - 1);
  auto req = parse_ok(R"({"type":"broadcast","data":)" + data + "}");
  EXPECT_EQ(json::parse(req.data), json::parse(data));
  // Brackets inside strings do not nest.
  std::string brackets = std::string(1000, '[') + "\\\"" + std::string(1000, '{');
  auto req_in_string = parse_ok(R"({"type":"broadcast","data":")" + brackets + "\"}");
  EXPECT_EQ(json::parse(req_in_string.data), std::string(1000, '[') + '"' + std::string(1000, '{'));
}

TEST(request, nesting_beyond_the_limit_is_bad_request) {
  auto error = parse_error(R"({"type":"broadcast","ref":1,"data":)" + nested(max_json_depth) + "}");
  EXPECT_EQ(error.kind, error_kind::bad_request);
  EXPECT_EQ(parse_error(R"({"type":"broadcast","data":)" + std::string(60000, '{') + "}").kind,
            error_kind::bad_request);
  // Deep enough to overflow the stack of any recursive parser or printer.
  EXPECT_EQ(parse_error(nested(1'000'000)).kind, error_kind::bad_request);
  EXPECT_EQ(parse_error(std::string(1'000'000, '[')).kind, error_kind::bad_request);
}

TEST(request, join_with_since) {
  auto req = parse_ok(R"({"type":"join","room":"chat","since":{"offset":17,"epoch":"ab12"}})");
  ASSERT_TRUE(req.since);
  EXPECT_EQ(req.since->offset, 17u);
  EXPECT_EQ(req.since->epoch, "ab12");
  EXPECT_FALSE(parse_ok(R"({"type":"join","room":"chat"})").since);
  EXPECT_EQ(parse_ok(R"({"type":"join","room":"chat","since":{"offset":0,"epoch":""}})").since->offset, 0u);
}

TEST(request, history_with_limit_and_since) {
  auto req = parse_ok(R"({"type":"history","room":"chat","limit":20,"since":{"offset":3,"epoch":"e"},"ref":1})");
  EXPECT_EQ(req.type, request_type::history);
  EXPECT_EQ(req.room, "chat");
  EXPECT_EQ(req.limit, 20u);
  EXPECT_EQ(req.since->offset, 3u);
  EXPECT_EQ(parse_ok(R"({"type":"history","room":"chat"})").limit, 0u);
}

TEST(request, bad_since_and_limit_are_bad_requests) {
  for (const char* text : {
           R"({"type":"join","room":"c","since":5})",
           R"({"type":"join","room":"c","since":{"offset":-1,"epoch":"e"}})",
           R"({"type":"join","room":"c","since":{"offset":1.5,"epoch":"e"}})",
           R"({"type":"join","room":"c","since":{"offset":"1","epoch":"e"}})",
           R"({"type":"join","room":"c","since":{"offset":1}})",
           R"({"type":"join","room":"c","since":{"epoch":"e"}})",
           R"({"type":"join","room":"c","since":{"offset":1,"epoch":7}})",
           R"({"type":"history","room":"c","limit":0})",
           R"({"type":"history","room":"c","limit":-3})",
           R"({"type":"history","room":"c","limit":"10"})",
           R"({"type":"history","room":"c","limit":1000001})",
           R"({"type":"history"})",
       })
    EXPECT_EQ(parse_error(text).kind, error_kind::bad_request) << text;
  std::string long_epoch(65, 'a');
  EXPECT_EQ(parse_error(R"({"type":"join","room":"c","since":{"offset":1,"epoch":")" + long_epoch + "\"}}").kind,
            error_kind::bad_request);
}

}  // namespace
}  // namespace switchboard::protocol
