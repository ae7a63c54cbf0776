// Many requests in flight per connection and many frames per send, against
// the real binary with 2 workers: answers keep request order whatever Redis
// answers first, one sender's messages keep their order at every recipient,
// the in-flight bound pauses reading without slowing anyone else, and a
// burst of deliveries reaches every local member complete and in order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Compares an answer with what was expected, ignoring free text (an error's
// message) and the member lists of presence answers.
void expect_answer(json answer, const json& expected, std::size_t i) {
  if (answer.value("type", "") == "error") answer.erase("message");
  if (answer.value("type", "") == "presence") {
    answer.erase("members");
    answer.erase("users");
  }
  ASSERT_EQ(answer, expected) << "answer " << i;
}

TEST_F(cluster_test, thirty_two_requests_in_flight_are_answered_in_request_order) {
  start_server({.extra_flags = {"--client-rate", "0", "--max-inflight-requests", "32"}});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  // Each round is 32 requests that go to different Redis connections (the
  // publish lane, the pool, the subscriber) or none at all, sent at once.
  std::vector<json> expected;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 4; ++i) {
      const std::string n = std::to_string(round) + "-" + std::to_string(i);
      const std::string room = "room-" + n;
      a0.send_json({{"type", "broadcast"}, {"ref", "b" + n}, {"data", 1}});
      expected.push_back({{"type", "ack"}, {"ref", "b" + n}});
      a0.send_json({{"type", "join"}, {"room", room}, {"ref", "j" + n}});
      expected.push_back({{"type", "ack"}, {"ref", "j" + n}});
      a0.send_json({{"type", "presence"}, {"room", room}, {"ref", "p" + n}});
      expected.push_back({{"type", "presence"}, {"room", room}, {"ref", "p" + n}});
      a0.send_json({{"type", "ping"}, {"ref", "g" + n}});
      expected.push_back({{"type", "pong"}, {"ref", "g" + n}});
      a0.send_text("not json");
      expected.push_back({{"type", "error"}, {"code", "bad_json"}});
      a0.send_json({{"type", "direct"}, {"to", b1.id()}, {"ref", "d" + n}, {"data", 2}});
      expected.push_back({{"type", "ack"}, {"ref", "d" + n}});
      a0.send_json({{"type", "frobnicate"}, {"ref", "u" + n}});
      expected.push_back({{"type", "error"}, {"code", "unknown_type"}, {"ref", "u" + n}});
      a0.send_json({{"type", "leave"}, {"room", room}, {"ref", "l" + n}});
      expected.push_back({{"type", "ack"}, {"ref", "l" + n}});
    }
  }
  for (std::size_t i = 0; i < expected.size(); ++i) expect_answer(a0.next_answer(), expected[i], i);
}

TEST_F(cluster_test, ten_thousand_pipelined_directs_and_room_messages_arrive_in_order_across_workers) {
  start_server({.extra_flags = {"--client-rate", "0"}});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  b1.send_json({{"type", "join"}, {"room", "r"}, {"ref", 0}});
  ASSERT_EQ(b1.next_answer(), (json{{"type", "ack"}, {"ref", 0}}));
  constexpr int count = 10000;
  for (int i = 0; i < count; ++i) {
    if (i % 2 == 0) a0.send_json({{"type", "direct"}, {"to", b1.id()}, {"ref", i}, {"data", i}});
    else a0.send_json({{"type", "room"}, {"room", "r"}, {"ref", i}, {"data", i}});
  }
  for (int i = 0; i < count; ++i) {
    json frame = b1.next(20s);
    ASSERT_EQ(frame.value("type", ""), "message") << frame.dump();
    ASSERT_EQ(frame["data"], i) << "delivery " << i << " out of order: " << frame.dump();
    ASSERT_EQ(frame.value("scope", ""), i % 2 == 0 ? "direct" : "room");
  }
  for (int i = 0; i < count; ++i) ASSERT_EQ(a0.next_answer(20s), (json{{"type", "ack"}, {"ref", i}})) << i;
  expect_quiet(loop_, {&a0, &b1});
}

TEST_F(cluster_test, past_the_inflight_bound_a_session_stops_reading_and_its_neighbour_is_served) {
  start_server({.extra_flags = {"--client-rate", "0", "--max-inflight-requests", "4"}});
  ws_client a0 = connect_on(0);
  ws_client neighbour = connect_on(0);
  auto received = [&] {
    auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
    return metrics.value("switchboard_messages_received_total", "test-node", 0, "type=\"broadcast\"");
  };
  // With Redis stopped no publish is answered: the session reads four and waits.
  redis().pause();
  constexpr int count = 50;
  for (int i = 0; i < count; ++i) a0.send_json({{"type", "broadcast"}, {"ref", i}, {"data", i}});
  loop_.run_for(300ms);
  // Pings need no Redis: the neighbour on the same worker is answered now.
  neighbour.send_json({{"type", "ping"}, {"ref", "n"}});
  EXPECT_EQ(neighbour.next_answer(1s), (json{{"type", "pong"}, {"ref", "n"}}));
  // /metrics needs no Redis either.
  EXPECT_EQ(received(), 4) << "the session read past its bound of requests in flight";
  redis().resume();
  // Then every request is read and answered, in order (acked, or refused
  // if the pause made the worker close its gate).
  for (int i = 0; i < count; ++i) {
    json answer = a0.next_answer();
    ASSERT_EQ(answer.value("ref", -1), i) << answer.dump();
  }
  EXPECT_EQ(received(), count);
}

// A recovering join read behind requests still in flight waits for them: its
// ack, the stored messages and the live ones held meanwhile come after the
// earlier answers and before the later ones, each message once, in order.
TEST_F(cluster_test, a_recovering_join_behind_pipelined_requests_keeps_answers_and_messages_in_order) {
  start_server({.extra_flags = {"--client-rate", "0", "--history-rooms", "chat:*", "--history-size", "5000"}});
  ws_client sender = connect_on(1);
  ws_client first = connect_on(0);
  first.send_json({{"type", "join"}, {"room", "chat:h"}, {"ref", "j"}});
  json joined = first.next_answer();
  ASSERT_EQ(joined.value("type", ""), "ack") << joined.dump();
  // Sent at once: they flow all through the join, some held by it.
  constexpr int count = 3000;
  for (int i = 0; i < count; ++i) sender.send_json({{"type", "room"}, {"room", "chat:h"}, {"data", i}});
  // The first member sees a few messages, then a second connection comes
  // back from the last one it saw while the sender goes on.
  json seen;
  for (int i = 0; i < 50; ++i) seen = first.next_of_type("message");
  ws_client member = connect_on(0);
  constexpr int before = 20;
  // Pages of the room's history: slower for Redis than the join's steps.
  for (int i = 0; i < before; ++i)
    member.send_json({{"type", "history"}, {"room", "chat:h"}, {"ref", "p" + std::to_string(i)}, {"limit", 3000}});
  member.send_json({{"type", "join"},
                    {"room", "chat:h"},
                    {"ref", "j"},
                    {"since", {{"offset", seen["offset"]}, {"epoch", seen["epoch"]}}}});
  for (int i = 0; i < before; ++i)
    member.send_json({{"type", "ping"}, {"ref", "g" + std::to_string(i)}});

  std::vector<json> answers;
  std::uint64_t next_offset = seen["offset"].get<std::uint64_t>() + 1;
  const std::uint64_t last_offset = next_offset - 1 - seen["data"].get<std::uint64_t>() + count - 1;
  bool acked = false;
  while (next_offset <= last_offset || answers.size() < 2 * before + 1) {
    json frame = member.next(20s);
    if (frame.value("type", "") == "message") {
      ASSERT_TRUE(acked) << "a message of the room came before the join's ack: " << frame.dump();
      ASSERT_EQ(frame["offset"].get<std::uint64_t>(), next_offset) << frame.dump();
      ++next_offset;
      continue;
    }
    if (frame.value("ref", "") == "j") {
      ASSERT_EQ(frame.value("recovered", false), true) << frame.dump();
      acked = true;
    }
    answers.push_back(frame);
  }
  ASSERT_EQ(answers.size(), 2u * before + 1);
  for (int i = 0; i < before; ++i) {
    EXPECT_EQ(answers[i].value("type", ""), "history") << answers[i].dump().substr(0, 200);
    EXPECT_EQ(answers[i].value("ref", ""), "p" + std::to_string(i));
  }
  EXPECT_EQ(answers[before].value("ref", ""), "j");
  for (int i = 0; i < before; ++i)
    expect_answer(answers[before + 1 + i], {{"type", "pong"}, {"ref", "g" + std::to_string(i)}}, before + 1 + i);
}

TEST_F(cluster_test, a_burst_from_one_redis_read_reaches_two_hundred_local_members_in_order) {
  start_server({.extra_flags = {"--client-rate", "0"}});
  constexpr int members = 200;
  constexpr int messages = 100;
  std::vector<ws_client> room;
  for (int i = 0; i < members; ++i) {
    room.push_back(connect_on(0));
    room.back().send_json({{"type", "join"}, {"room", "burst"}, {"ref", i}});
    ASSERT_EQ(room.back().next_answer(), (json{{"type", "ack"}, {"ref", i}}));
  }
  ws_client sender = connect_on(1);
  // Pipelined: the publishes reach Redis back to back, and worker 0's
  // subscriber reads many of them at once.
  for (int i = 0; i < messages; ++i) sender.send_json({{"type", "room"}, {"room", "burst"}, {"ref", i}, {"data", i}});
  for (int i = 0; i < messages; ++i) ASSERT_EQ(sender.next_answer(), (json{{"type", "ack"}, {"ref", i}}));
  for (auto& member : room) {
    for (int i = 0; i < messages; ++i) {
      json frame = member.next();
      ASSERT_EQ(frame["data"], i) << member.describe() << ": " << frame.dump();
    }
  }
  auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
  // Every frame of the worker was counted, and no send carried none but
  // Beast's answers to the upgrades (one per connection it accepted).
  const auto frames = metrics.value("switchboard_sent_frames_total", "test-node", 0);
  const auto sends = metrics.value("switchboard_socket_sends_total", "test-node", 0);
  const auto upgrades = metrics.value("switchboard_connections_accepted_total", "test-node", 0);
  EXPECT_GE(frames, members * (messages + 2));  // welcome, join ack, messages
  EXPECT_GT(sends, 0);
  EXPECT_LE(sends, frames + upgrades);
  expect_quiet(loop_, {&sender});
}

TEST_F(cluster_test, a_message_alone_goes_out_alone_in_its_own_send) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client b0 = connect_on(0);
  auto counted = [&](const char* name) {
    return parse_exposition(http_get(server().port(), "/metrics").body).value(name, "test-node", 0);
  };
  for (int i = 0; i < 20; ++i) {
    const auto frames_before = counted("switchboard_sent_frames_total");
    const auto sends_before = counted("switchboard_socket_sends_total");
    a0.send_json({{"type", "direct"}, {"to", b0.id()}, {"ref", i}, {"data", i}});
    ASSERT_EQ(b0.next()["data"], i);
    ASSERT_EQ(a0.next_answer(), (json{{"type", "ack"}, {"ref", i}}));
    // Nothing held it back to wait for company: the delivery and the ack
    // each went out as soon as they were made, one send each.
    EXPECT_EQ(counted("switchboard_sent_frames_total") - frames_before, 2);
    EXPECT_EQ(counted("switchboard_socket_sends_total") - sends_before, 2);
  }
}

}  // namespace
}  // namespace switchboard::testing
