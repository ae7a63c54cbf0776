// A token's lifetime on an open connection (PROTOCOL.md, "Token lifetime"),
// against the real binary with 2 workers: refresh (same user or forbidden,
// new claims at once, rooms no longer allowed left with a `left` frame and
// gone from presence cluster-wide) and the 4001 close when exp passes.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/auth_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

void expect_ack(ws_client& client, int ref) { EXPECT_EQ(client.next_answer(), (json{{"type", "ack"}, {"ref", ref}})); }

json refresh_with(ws_client& client, const std::string& token, int ref) {
  client.send_json({{"type", "refresh"}, {"token", token}, {"ref", ref}});
  return client.next_answer();
}

TEST_F(auth_test, refresh_narrowing_rooms_leaves_them_cluster_wide) {
  start_with_auth();
  ws_client alice = connect_granted("alice", {{"rooms", {"a", "b"}}}, 0);
  ws_client watcher = connect_granted("watcher", {{"rooms", {"*"}}, {"publish", {"*"}}}, 1);
  for (const char* room : {"a", "b"}) {
    alice.send_json({{"type", "join"}, {"room", room}, {"ref", 1}});
    expect_ack(alice, 1);
  }

  alice.send_json({{"type", "refresh"}, {"token", mint_hs256(claims_for("alice", 3600, {{"rooms", {"a"}}}))}, {"ref", 2}});
  // The left frame, then the ack: presence has followed by then.
  EXPECT_EQ(alice.next(), (json{{"type", "left"}, {"room", "b"}, {"reason", "forbidden"}}));
  EXPECT_EQ(alice.next(), (json{{"type", "ack"}, {"ref", 2}}));
  watcher.send_json({{"type", "presence"}, {"room", "b"}, {"ref", 3}});
  EXPECT_EQ(watcher.next_answer()["members"], json::array()) << "alice is still in b's presence";
  watcher.send_json({{"type", "presence"}, {"room", "a"}, {"ref", 4}});
  EXPECT_EQ(watcher.next_answer()["members"], json::array({alice.id()}));

  // b's messages stop arriving; a's still come (published after b's, so
  // one from b would have come first).
  watcher.send_json({{"type", "room"}, {"room", "b"}, {"ref", 5}, {"data", "to b"}});
  expect_ack(watcher, 5);
  watcher.send_json({{"type", "room"}, {"room", "a"}, {"ref", 6}, {"data", "to a"}});
  expect_ack(watcher, 6);
  EXPECT_EQ(alice.next_of_type("message")["data"], "to a");
  // And b can no longer be joined.
  alice.send_json({{"type", "join"}, {"room", "b"}, {"ref", 7}});
  EXPECT_EQ(alice.next_answer().value("code", ""), "forbidden");
  expect_quiet(loop_, {&alice});
}

TEST_F(auth_test, refresh_widening_applies_at_once) {
  start_with_auth();
  ws_client alice = connect_granted("alice", {{"rooms", {"a"}}});
  alice.send_json({{"type", "join"}, {"room", "c"}, {"ref", 1}});
  EXPECT_EQ(alice.next_answer().value("code", ""), "forbidden");
  EXPECT_EQ(refresh_with(alice, mint_hs256(claims_for("alice", 3600, {{"rooms", {"*"}}})), 2),
            (json{{"type", "ack"}, {"ref", 2}}));
  alice.send_json({{"type", "join"}, {"room", "c"}, {"ref", 3}});
  expect_ack(alice, 3);
}

TEST_F(auth_test, a_refresh_for_another_user_or_with_a_bad_token_is_forbidden_and_changes_nothing) {
  start_with_auth();
  ws_client alice = connect_granted("alice", {{"rooms", {"a"}}});
  const std::string refused[] = {
      mint_hs256(claims_for("bob", 3600, {{"rooms", {"*"}}})),
      mint_hs256(claims_for("alice", -3600, {{"rooms", {"*"}}})),
      mint_hs256(claims_for("alice", 3600, {{"rooms", {"*"}}}), "another-secret-of-thirty-two-bytes!!"),
      "garbage",
      "",
  };
  int ref = 0;
  for (const auto& token : refused) {
    json answer = refresh_with(alice, token, ++ref);
    EXPECT_EQ(answer.value("code", ""), "forbidden") << token << ": " << answer.dump();
    EXPECT_EQ(answer.value("ref", -1), ref);
  }
  // The old token still holds: a allowed, c not.
  alice.send_json({{"type", "join"}, {"room", "a"}, {"ref", 10}});
  expect_ack(alice, 10);
  alice.send_json({{"type", "join"}, {"room", "c"}, {"ref", 11}});
  EXPECT_EQ(alice.next_answer().value("code", ""), "forbidden");
  EXPECT_EQ(alice.user(), "alice");
}

TEST_F(cluster_test, refresh_without_auth_is_a_bad_request) {
  start_server();
  ws_client a = connect();
  a.send_json({{"type", "refresh"}, {"token", "x.y.z"}, {"ref", 1}});
  json answer = a.next_answer();
  EXPECT_EQ(answer.value("code", ""), "bad_request") << answer.dump();
  EXPECT_EQ(answer.value("ref", -1), 1);
}

TEST_F(auth_test, an_expired_token_closes_the_connection_with_4001) {
  start_with_auth({"--auth-leeway-seconds", "0"});
  ws_client short_lived = connect_as(mint_hs256(claims_for("alice", 2)), 0);
  ws_client refreshed = connect_as(mint_hs256(claims_for("bob", 2)), 1);
  ws_client lasting = connect_as(mint_hs256(claims_for("carol", 3600)), 0);
  EXPECT_EQ(refresh_with(refreshed, mint_hs256(claims_for("bob", 3600)), 1), (json{{"type", "ack"}, {"ref", 1}}));

  ASSERT_TRUE(short_lived.wait_closed(10s)) << "the connection outlived its token";
  EXPECT_EQ(short_lived.close_code(), 4001);
  EXPECT_EQ(short_lived.close_reason(), "token expired");
  // Past the first token's exp: the refreshed one and the lasting one stay.
  loop_.run_for(1500ms);
  for (ws_client* open : {&refreshed, &lasting}) {
    ASSERT_TRUE(open->is_open()) << open->describe() << ": " << open->end_reason();
    open->send_json({{"type", "ping"}, {"ref", 2}});
    EXPECT_EQ(open->next_answer(), (json{{"type", "pong"}, {"ref", 2}}));
  }
  auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
  EXPECT_EQ(metrics.value("switchboard_closes_total", "test-node", 0, "code=\"4001\""), 1);
}

TEST_F(auth_test, the_leeway_keeps_a_connection_past_exp) {
  start_with_auth({"--auth-leeway-seconds", "3"});
  // Expired a second ago, still within the leeway: admitted, closed once
  // exp plus the leeway has passed.
  ws_client late = connect_as(mint_hs256(claims_for("alice", -1)));
  loop_.run_for(500ms);
  EXPECT_TRUE(late.is_open());
  ASSERT_TRUE(late.wait_closed(10s));
  EXPECT_EQ(late.close_code(), 4001);
}

}  // namespace
}  // namespace switchboard::testing
