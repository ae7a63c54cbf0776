// Rejected requests: each gets the right error, and the connection goes on
// working, except where the protocol says it closes.

#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

constexpr std::size_t max_message_bytes = 4096;

struct bad_request_case {
  std::string frame;
  std::string code;
  json ref;  // null: the error must carry no ref
};

// The connection still answers after an error.
void expect_alive(ws_client& client, const std::string& ref) {
  client.send_json({{"type", "ping"}, {"ref", ref}});
  EXPECT_EQ(client.next(), (json{{"type", "pong"}, {"ref", ref}})) << "the connection stopped working";
}

// A broadcast frame of exactly `size` bytes.
std::string broadcast_of_size(std::size_t size) {
  std::string head = R"({"type":"broadcast","ref":"sized","data":")";
  std::string tail = "\"}";
  return head + std::string(size - head.size() - tail.size(), 'y') + tail;
}

class errors_test : public cluster_test {
 protected:
  void SetUp() override {
    cluster_test::SetUp();
    if (IsSkipped() || HasFailure()) return;
    start_server({.extra_flags = {"--max-message-bytes", std::to_string(max_message_bytes)}});
  }
};

TEST_F(errors_test, malformed_requests_get_the_right_error_and_the_connection_stays) {
  ws_client client = connect();
  const std::string long_ref(65, 'r');
  const std::string long_id(65, 'a');
  const std::vector<bad_request_case> cases{
      {"this is not json", "bad_json", nullptr},
      {"[1,2,3]", "bad_json", nullptr},
      {R"("a string")", "bad_json", nullptr},
      {R"({"ref":1})", "bad_request", 1},
      {R"({"type":5,"ref":2})", "bad_request", 2},
      {R"({"type":"ping","ref":null})", "bad_request", nullptr},
      {R"({"type":"ping","ref":1.5})", "bad_request", nullptr},
      {R"({"type":"ping","ref":true})", "bad_request", nullptr},
      {R"({"type":"ping","ref":[1]})", "bad_request", nullptr},
      {R"({"type":"ping","ref":{"a":1}})", "bad_request", nullptr},
      {R"({"type":"ping","ref":")" + long_ref + "\"}", "bad_request", nullptr},
      {R"({"type":"direct","data":1,"ref":3})", "bad_request", 3},
      {R"({"type":"direct","to":"has space","data":1,"ref":4})", "bad_request", 4},
      {R"({"type":"direct","to":"","data":1,"ref":5})", "bad_request", 5},
      {R"({"type":"direct","to":")" + long_id + R"(","data":1,"ref":6})", "bad_request", 6},
      {R"({"type":"direct","to":42,"data":1,"ref":7})", "bad_request", 7},
      {R"({"type":"broadcast","ref":8})", "bad_request", 8},
      {R"({"type":"welcome","ref":9})", "unknown_type", 9},
      {R"({"type":"message","ref":"m"})", "unknown_type", "m"},
      {R"({"type":"frobnicate","ref":10})", "unknown_type", 10},
      {R"({"type":"frobnicate"})", "unknown_type", nullptr},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE("frame " + c.frame);
    client.send_text(c.frame);
    json answer = client.next();
    EXPECT_EQ(answer.value("type", ""), "error") << answer.dump();
    EXPECT_EQ(answer.value("code", ""), c.code) << answer.dump();
    EXPECT_TRUE(answer["message"].is_string() && !answer["message"].get<std::string>().empty()) << answer.dump();
    if (c.ref.is_null()) {
      EXPECT_FALSE(answer.contains("ref")) << answer.dump();
    } else {
      EXPECT_EQ(answer["ref"], c.ref) << answer.dump();
    }
    expect_alive(client, "alive-" + std::to_string(++n));
  }
}

TEST_F(errors_test, edge_values_that_are_valid_are_accepted) {
  ws_client client = connect();
  const std::string longest_ref(64, 'r');
  client.send_json({{"type", "ping"}, {"ref", longest_ref}});
  EXPECT_EQ(client.next(), (json{{"type", "pong"}, {"ref", longest_ref}}));
  client.send_json({{"type", "ping"}, {"ref", -5}});
  EXPECT_EQ(client.next(), (json{{"type", "pong"}, {"ref", -5}}));
  client.send_json({{"type", "ping"}});
  EXPECT_EQ(client.next(), (json{{"type", "pong"}}));

  // null is a valid data, and arrives as null.
  client.send_text(R"({"type":"broadcast","data":null,"ref":"null-data"})");
  bool acked = false;
  for (int i = 0; i < 2; ++i) {
    json frame = client.next();
    if (frame.value("type", "") == "ack") {
      EXPECT_EQ(frame["ref"], "null-data");
      acked = true;
    } else {
      EXPECT_EQ(frame.value("type", ""), "message") << frame.dump();
      EXPECT_TRUE(frame.contains("data") && frame["data"].is_null()) << frame.dump();
    }
  }
  EXPECT_TRUE(acked);

  // A request without ref gets no ack, only its effect.
  client.send_json({{"type", "broadcast"}, {"data", "no ref"}});
  EXPECT_EQ(client.next()["data"], "no ref");
  expect_quiet(loop_, {&client});
}

TEST_F(errors_test, binary_frame_is_unsupported_and_the_connection_stays) {
  ws_client client = connect();
  client.send_binary(std::string("\x01\x02\x03", 3));
  json answer = client.next();
  EXPECT_EQ(answer.value("type", ""), "error") << answer.dump();
  EXPECT_EQ(answer.value("code", ""), "unsupported") << answer.dump();
  EXPECT_FALSE(answer.contains("ref")) << answer.dump();
  expect_alive(client, "after-binary");
}

TEST_F(errors_test, message_over_the_limit_closes_with_1009) {
  ws_client fits = connect();
  fits.send_text(broadcast_of_size(max_message_bytes));
  EXPECT_EQ(fits.next_answer(), (json{{"type", "ack"}, {"ref", "sized"}})) << "a message of exactly the limit was refused";
  EXPECT_EQ(fits.next_of_type("message")["from"], fits.id());

  ws_client too_big = connect();
  too_big.send_text(broadcast_of_size(max_message_bytes + 1));
  ASSERT_TRUE(too_big.wait_closed()) << "the connection stayed open";
  EXPECT_EQ(too_big.close_code(), 1009) << too_big.end_reason();
  expect_alive(fits, "others-unaffected");
}

TEST_F(errors_test, invalid_utf8_closes_with_1007) {
  for (const std::string& text : {std::string("\xff\xfe"), std::string("{\"type\":\"ping\",\"ref\":\"\xc3\x28\"}")}) {
    ws_client client = connect();
    client.send_text(text);
    ASSERT_TRUE(client.wait_closed()) << "the connection stayed open";
    EXPECT_EQ(client.close_code(), 1007) << client.end_reason();
  }
}

}  // namespace
}  // namespace switchboard::testing
