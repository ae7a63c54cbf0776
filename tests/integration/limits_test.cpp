// The per-connection request budget (PROTOCOL.md, "Limits"), against the
// real binary with 2 workers: over budget a request gets `rate_limited`
// and is not carried out, every request is still answered once and in
// order, a client that goes on sending is closed with 1008, and a second
// client on the same worker is not held back.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST_F(cluster_test, a_flooding_client_is_refused_then_closed_and_its_neighbour_gets_everything) {
  // 10 per second with a burst of 20: the flood is 20 allowed, about 20
  // refused, then the close.
  start_server({.extra_flags = {"--client-rate", "10", "--client-burst", "20"}});
  ws_client neighbour = connect_on(0);
  neighbour.send_json({{"type", "join"}, {"room", "r"}, {"ref", 0}});
  ASSERT_EQ(neighbour.next_answer(), (json{{"type", "ack"}, {"ref", 0}}));
  ws_client flooder = connect_on(0);
  constexpr int sent = 200;
  for (int i = 0; i < sent; ++i) flooder.send_json({{"type", "room"}, {"room", "r"}, {"ref", i}, {"data", i}});

  ASSERT_TRUE(flooder.wait_closed(10s)) << "the flooder was never closed";
  EXPECT_EQ(flooder.close_code(), 1008);
  EXPECT_EQ(flooder.close_reason(), "rate limited");

  // Each request up to the close got exactly one answer, in order: acks
  // while the budget lasted, then rate_limited.
  std::vector<int> acked;
  int answered = 0;
  int refused = 0;
  for (const json& frame : flooder.take_all()) {
    if (frame.value("type", "") == "message") continue;
    ASSERT_EQ(frame.value("ref", -1), answered) << "answers out of order or doubled: " << frame.dump();
    ++answered;
    if (frame.value("type", "") == "ack") {
      EXPECT_EQ(refused, 0) << "an ack after a refusal within one flood: " << frame.dump();
      acked.push_back(frame["ref"].get<int>());
    } else {
      EXPECT_EQ(frame.value("code", ""), "rate_limited") << frame.dump();
      ++refused;
    }
  }
  EXPECT_GE(acked.size(), 20u);
  EXPECT_GE(refused, 15);
  EXPECT_LT(answered, sent) << "the flooder was closed only once it had stopped";

  // The neighbour got every message the flooder was acknowledged, and
  // nothing it was refused; it is served as usual.
  for (int seq : acked) {
    json got = neighbour.next_of_type("message");
    ASSERT_EQ(got["data"], seq);
  }
  neighbour.send_json({{"type", "ping"}, {"ref", 1}});
  EXPECT_EQ(neighbour.next_answer(), (json{{"type", "pong"}, {"ref", 1}}));
  expect_quiet(loop_, {&neighbour});

  auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
  EXPECT_EQ(metrics.value("switchboard_rate_limit_closes_total", "test-node", 0), 1);
  EXPECT_EQ(metrics.value("switchboard_errors_total", "test-node", 0, "code=\"rate_limited\""), refused);
}

TEST_F(cluster_test, pings_and_bad_frames_count_against_the_budget) {
  start_server({.extra_flags = {"--client-rate", "1", "--client-burst", "3"}});
  ws_client a = connect();
  a.send_json({{"type", "ping"}, {"ref", 1}});
  a.send_text("{not json");
  a.send_json({{"type", "ping"}, {"ref", 2}});
  a.send_json({{"type", "ping"}, {"ref", 3}});
  EXPECT_EQ(a.next_answer(), (json{{"type", "pong"}, {"ref", 1}}));
  EXPECT_EQ(a.next_answer().value("code", ""), "bad_json");
  EXPECT_EQ(a.next_answer(), (json{{"type", "pong"}, {"ref", 2}}));
  json refused = a.next_answer();
  EXPECT_EQ(refused.value("code", ""), "rate_limited") << refused.dump();
  EXPECT_EQ(refused.value("ref", -1), 3);
  // A client that waits is served again.
  loop_.run_for(2500ms);
  a.send_json({{"type", "ping"}, {"ref", 4}});
  EXPECT_EQ(a.next_answer(), (json{{"type", "pong"}, {"ref", 4}}));
  EXPECT_TRUE(a.is_open());
}

}  // namespace
}  // namespace switchboard::testing
