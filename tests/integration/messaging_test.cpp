// Delivery across workers: broadcast, direct, ordering, and a slow consumer.

#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

// Data that exercises the JSON round trip: nesting, floats, null, non-ASCII.
const json sample_data = json::parse(R"({"text":"h\u00e9llo \u2713","n":[1,2.5,null,true],"nested":{"k":"v"}})");

void expect_delivery(const json& frame, std::string_view scope, const ws_client& from, const json& data) {
  EXPECT_EQ(frame.value("type", ""), "message") << frame.dump();
  EXPECT_EQ(frame.value("scope", ""), scope) << frame.dump();
  EXPECT_EQ(frame.value("from", ""), from.id()) << frame.dump();
  EXPECT_EQ(frame["data"], data) << frame.dump();
}

// The sender of a broadcast gets its ack and its own copy, in either order.
void expect_ack_and_own_copy(ws_client& sender, const json& ref, const json& data) {
  bool acked = false;
  bool delivered = false;
  for (int i = 0; i < 2; ++i) {
    json frame = sender.next();
    if (frame.value("type", "") == "ack" && !acked) {
      EXPECT_EQ(frame["ref"], ref) << frame.dump();
      acked = true;
    } else {
      expect_delivery(frame, "broadcast", sender, data);
      delivered = true;
    }
  }
  EXPECT_TRUE(acked && delivered) << sender.describe() << " did not get both its ack and its own copy";
}

TEST_F(cluster_test, broadcast_reaches_every_client_on_both_workers_exactly_once) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client b0 = connect_on(0);
  ws_client a1 = connect_on(1);
  ws_client b1 = connect_on(1);

  for (ws_client* sender : {&a0, &a1}) {
    SCOPED_TRACE("sender " + sender->describe());
    const json ref = "b-" + sender->id();
    sender->send_json({{"type", "broadcast"}, {"ref", ref}, {"data", sample_data}});
    expect_ack_and_own_copy(*sender, ref, sample_data);
    for (ws_client* other : {&a0, &b0, &a1, &b1})
      if (other != sender) expect_delivery(other->next(), "broadcast", *sender, sample_data);
    expect_quiet(loop_, {&a0, &b0, &a1, &b1});
  }
}

TEST_F(cluster_test, direct_reaches_only_its_target_on_another_worker) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client c0 = connect_on(0);
  ws_client b1 = connect_on(1);
  ws_client d1 = connect_on(1);

  for (auto [sender, target] : {std::pair{&a0, &b1}, std::pair{&b1, &a0}}) {
    SCOPED_TRACE(sender->describe() + " -> " + target->describe());
    sender->send_json({{"type", "direct"}, {"to", target->id()}, {"ref", 7}, {"data", sample_data}});
    json ack = sender->next();
    EXPECT_EQ(ack, (json{{"type", "ack"}, {"ref", 7}}));
    json frame = target->next();
    expect_delivery(frame, "direct", *sender, sample_data);
    EXPECT_EQ(frame.value("to", ""), target->id()) << frame.dump();
    expect_quiet(loop_, {&a0, &c0, &b1, &d1});
  }
}

TEST_F(cluster_test, direct_to_an_unknown_id_is_acked_and_dropped) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);

  const std::vector<std::string> unknown{
      "0123456789abcdef.1",            // no worker has this key
      b1.worker_key() + ".999999",     // a live worker, a sequence not handed out
      "not-one-of:our_ids",            // well-formed, but not our format
  };
  int ref = 0;
  for (const auto& to : unknown) {
    SCOPED_TRACE("to " + to);
    a0.send_json({{"type", "direct"}, {"to", to}, {"ref", ++ref}, {"data", "anyone?"}});
    EXPECT_EQ(a0.next(), (json{{"type", "ack"}, {"ref", ref}}));
  }
  expect_quiet(loop_, {&a0, &b1});
}

TEST_F(cluster_test, from_is_stamped_by_the_server) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);

  a0.send_json({{"type", "broadcast"}, {"from", "x"}, {"ref", 1}, {"data", 1}});
  expect_ack_and_own_copy(a0, 1, 1);
  expect_delivery(b1.next(), "broadcast", a0, 1);

  a0.send_json({{"type", "direct"}, {"to", b1.id()}, {"from", "server"}, {"ref", 2}, {"data", 2}});
  EXPECT_EQ(a0.next(), (json{{"type", "ack"}, {"ref", 2}}));
  expect_delivery(b1.next(), "direct", a0, 2);
}

TEST_F(cluster_test, two_thousand_pipelined_directs_arrive_complete_and_in_order) {
  // Ordering is under test here, not the request budget, which 2,000
  // requests at once exceed.
  start_server({.extra_flags = {"--client-rate", "0"}});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  constexpr int count = 2000;

  // All sent before any ack is read: the server must keep them in order.
  for (int i = 0; i < count; ++i)
    a0.send_json({{"type", "direct"}, {"to", b1.id()}, {"ref", i}, {"data", {{"seq", i}}}});

  for (int i = 0; i < count; ++i) {
    json frame = b1.next();
    ASSERT_EQ(frame.value("type", ""), "message") << "frame " << i << ": " << frame.dump();
    ASSERT_EQ(frame["data"]["seq"], i) << "delivery " << i << " out of order: " << frame.dump();
    ASSERT_EQ(frame.value("from", ""), a0.id());
  }
  for (int i = 0; i < count; ++i) {
    json frame = a0.next();
    ASSERT_EQ(frame, (json{{"type", "ack"}, {"ref", i}})) << "answer " << i;
  }
  expect_quiet(loop_, {&a0, &b1});
}

TEST_F(cluster_test, answers_come_in_request_order_for_a_mixed_burst) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  constexpr int rounds = 20;

  std::vector<json> expected_answers;
  std::vector<json> expected_at_b;
  for (int r = 0; r < rounds; ++r) {
    const std::string n = std::to_string(r);
    a0.send_json({{"type", "ping"}, {"ref", "p" + n}});
    expected_answers.push_back({{"type", "pong"}, {"ref", "p" + n}});
    a0.send_json({{"type", "broadcast"}, {"ref", r}, {"data", {{"b", r}}}});
    expected_answers.push_back({{"type", "ack"}, {"ref", r}});
    expected_at_b.push_back({{"b", r}});
    a0.send_text("this is not json");
    expected_answers.push_back({{"type", "error"}, {"code", "bad_json"}});
    a0.send_json({{"type", "direct"}, {"to", b1.id()}, {"ref", "d" + n}, {"data", {{"d", r}}}});
    expected_answers.push_back({{"type", "ack"}, {"ref", "d" + n}});
    expected_at_b.push_back({{"d", r}});
    a0.send_json({{"type", "frobnicate"}, {"ref", "u" + n}});
    expected_answers.push_back({{"type", "error"}, {"code", "unknown_type"}, {"ref", "u" + n}});
  }

  for (std::size_t i = 0; i < expected_answers.size(); ++i) {
    json answer = a0.next_answer();
    // Error messages are free text: compare everything else.
    if (answer.value("type", "") == "error") {
      EXPECT_TRUE(answer["message"].is_string()) << answer.dump();
      answer.erase("message");
    }
    ASSERT_EQ(answer, expected_answers[i]) << "answer " << i;
  }
  // One sender's broadcasts and directs reach a recipient in the order sent.
  for (std::size_t i = 0; i < expected_at_b.size(); ++i) {
    json frame = b1.next();
    ASSERT_EQ(frame.value("type", ""), "message") << frame.dump();
    ASSERT_EQ(frame["data"], expected_at_b[i]) << "delivery " << i << ": " << frame.dump();
  }
}

// A worker reads a message into a small buffer of the session's own and
// continues a longer one elsewhere: lengths around that boundary, messages
// sent as many small frames, and all of it pipelined, so that one read
// holds the end of one message and the start of the next.
TEST_F(cluster_test, messages_of_every_length_and_fragmentation_arrive_intact_and_in_order) {
  start_server();
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  const std::vector<std::size_t> lengths{0, 100, 190, 200, 210, 220, 230, 240, 250, 256, 300, 1000, 1600, 5000, 60000};
  const std::vector<std::size_t> fragments{0, 1, 7, 100};

  std::vector<json> expected_answers;
  std::vector<json> expected_at_b;
  int ref = 0;
  for (std::size_t fragment : fragments) {
    for (std::size_t length : lengths) {
      const json data = {{"s", std::string(length, static_cast<char>('a' + ref % 26))}};
      const json request = {{"type", "direct"}, {"to", b1.id()}, {"ref", ref}, {"data", data}};
      if (fragment == 0) {
        a0.send_json(request);
      } else {
        a0.send_fragmented(request.dump(), fragment);
      }
      expected_answers.push_back({{"type", "ack"}, {"ref", ref}});
      expected_at_b.push_back(data);
      a0.send_json({{"type", "ping"}, {"ref", "p" + std::to_string(ref)}});
      expected_answers.push_back({{"type", "pong"}, {"ref", "p" + std::to_string(ref)}});
      ++ref;
    }
  }

  for (std::size_t i = 0; i < expected_answers.size(); ++i) {
    SCOPED_TRACE("answer " + std::to_string(i) + ": " + expected_answers[i].dump());
    // 60,000 one-byte fragments take seconds under ASan, more on a loaded
    // machine: this test is about what arrives, not how fast.
    ASSERT_EQ(a0.next_answer(60s), expected_answers[i]);
  }
  for (std::size_t i = 0; i < expected_at_b.size(); ++i) {
    json frame = b1.next();
    ASSERT_EQ(frame.value("type", ""), "message") << frame.dump().substr(0, 200);
    ASSERT_EQ(frame["data"], expected_at_b[i]) << "delivery " << i;
  }
}

TEST_F(cluster_test, slow_consumer_is_closed_and_nobody_else_is_slowed) {
  start_server({.extra_flags = {"--send-queue-bytes", "1MiB"}});
  ws_client a0 = connect_on(0);
  ws_client c1 = connect_on(1);
  // A small receive window, so that the server's queue for it really grows.
  ws_client slow = connect({.paused = true, .receive_buffer = 4096});
  constexpr int count = 300;
  const std::string pad(32 * 1024, 'x');  // 300 x 32 KiB is far past the 1 MiB queue

  for (int i = 0; i < count; ++i)
    a0.send_json({{"type", "broadcast"}, {"ref", i}, {"data", {{"seq", i}, {"pad", pad}}}});
  // The slow client reads again as soon as the server has given up on it,
  // well within the server's 5 s grace for the close frame, however slow
  // this machine is. Waiting pumps the loop, so the other clients keep up;
  // the scrape blocks it, so it takes at most a fifth of the time (under
  // ASan on a loaded machine the test process is what limits the sender).
  auto next_scrape = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop_.run_until(
      [&] {
        auto started = std::chrono::steady_clock::now();
        if (started < next_scrape) return false;
        auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
        auto took = std::chrono::steady_clock::now() - started;
        next_scrape = started + std::max<std::chrono::steady_clock::duration>(50ms, 5 * took);
        return metrics.value("switchboard_slow_consumer_closes_total", "test-node", 0) >= 1 ||
               metrics.value("switchboard_slow_consumer_closes_total", "test-node", 1) >= 1;
      },
      30s))
      << "the server never gave up on the slow client";
  slow.resume_reading();
  for (int i = 0; i < count; ++i) {
    json frame = c1.next_of_type("message");
    ASSERT_EQ(frame["data"]["seq"], i) << "the normal client lost or reordered a message";
  }
  for (int i = 0; i < count; ++i) {
    json answer = a0.next_answer();
    ASSERT_EQ(answer, (json{{"type", "ack"}, {"ref", i}})) << "answer " << i;
  }

  // Reading again, the slow client found what was already on the wire, then
  // the close frame.
  ASSERT_TRUE(slow.wait_closed()) << slow.describe() << " was not closed";
  EXPECT_EQ(slow.close_code(), 1008) << slow.end_reason();
  EXPECT_EQ(slow.close_reason(), "slow consumer");
  int received = 0;
  int last_seq = -1;
  for (const auto& frame : slow.take_all()) {
    if (frame.value("type", "") != "message") continue;
    int seq = frame["data"]["seq"].get<int>();
    EXPECT_GT(seq, last_seq) << "the slow client got messages out of order";
    last_seq = seq;
    ++received;
  }
  EXPECT_LT(received, count) << "the slow client got everything: the queue bound was never reached";
}

}  // namespace
}  // namespace switchboard::testing
