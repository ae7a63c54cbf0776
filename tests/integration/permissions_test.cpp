// Permissions from the token (PROTOCOL.md, "Permissions"), against the real
// binary with 2 workers: every request a claim governs is refused without
// it (`forbidden`, with its ref, nothing done) and carried out with it,
// across workers; the operator's switch for client broadcasts.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/auth_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;

// The error a refused request gets.
json forbidden_answer(int ref, const json& answer) {
  EXPECT_EQ(answer.value("type", ""), "error") << answer.dump();
  EXPECT_EQ(answer.value("code", ""), "forbidden") << answer.dump();
  EXPECT_TRUE(answer.contains("message") && answer["message"].is_string()) << answer.dump();
  EXPECT_EQ(answer.value("ref", -1), ref) << answer.dump();
  return answer;
}

void expect_ack(ws_client& client, int ref) { EXPECT_EQ(client.next_answer(), (json{{"type", "ack"}, {"ref", ref}})); }

std::vector<std::string> members_seen_by(ws_client& client, const std::string& room, int ref) {
  client.send_json({{"type", "presence"}, {"room", room}, {"ref", ref}});
  json answer = client.next_answer();
  EXPECT_EQ(answer.value("type", ""), "presence") << answer.dump();
  return answer.value("members", std::vector<std::string>{});
}

TEST_F(auth_test, a_token_without_claims_may_only_send_directs_and_leave) {
  start_with_auth();
  ws_client nobody = connect_granted("nobody", json::object(), 0);
  ws_client watcher = connect_granted("watcher", {{"rooms", {"*"}}, {"publish", {"*"}}, {"broadcast", true}}, 1);
  watcher.send_json({{"type", "join"}, {"room", "chat:a"}, {"ref", 1}});
  expect_ack(watcher, 1);

  nobody.send_json({{"type", "join"}, {"room", "chat:a"}, {"ref", 1}});
  forbidden_answer(1, nobody.next_answer());
  nobody.send_json({{"type", "presence"}, {"room", "chat:a"}, {"ref", 2}});
  forbidden_answer(2, nobody.next_answer());
  nobody.send_json({{"type", "room"}, {"room", "chat:a"}, {"ref", 3}, {"data", "no"}});
  forbidden_answer(3, nobody.next_answer());
  nobody.send_json({{"type", "broadcast"}, {"ref", 4}, {"data", "no"}});
  forbidden_answer(4, nobody.next_answer());
  // Leaving is never refused; direct is allowed unless the token says no.
  nobody.send_json({{"type", "leave"}, {"room", "chat:a"}, {"ref", 5}});
  expect_ack(nobody, 5);
  nobody.send_json({{"type", "direct"}, {"to", watcher.id()}, {"ref", 6}, {"data", "yes"}});
  expect_ack(nobody, 6);

  json got = watcher.next_of_type("message");
  EXPECT_EQ(got["scope"], "direct");
  EXPECT_EQ(got["data"], "yes") << "a refused room message or broadcast was delivered: " << got.dump();
  EXPECT_EQ(got["from_user"], "nobody");
  EXPECT_EQ(members_seen_by(watcher, "chat:a", 2), std::vector<std::string>{watcher.id()})
      << "a refused join changed presence";
  expect_quiet(loop_, {&nobody, &watcher});
}

TEST_F(auth_test, each_claim_allows_what_it_names_and_nothing_else) {
  start_with_auth();
  ws_client member = connect_granted(
      "member", {{"rooms", {"chat:*"}}, {"publish", {"news"}}, {"broadcast", true}, {"direct", false}}, 0);
  ws_client watcher = connect_granted("watcher", {{"rooms", {"*"}}}, 1);
  for (const char* room : {"chat:x", "news"}) {
    watcher.send_json({{"type", "join"}, {"room", room}, {"ref", 0}});
    expect_ack(watcher, 0);
  }

  // rooms: join and presence on matching rooms only.
  member.send_json({{"type", "join"}, {"room", "chat:x"}, {"ref", 1}});
  expect_ack(member, 1);
  member.send_json({{"type", "join"}, {"room", "lobby"}, {"ref", 2}});
  forbidden_answer(2, member.next_answer());
  member.send_json({{"type", "presence"}, {"room", "chat:x"}, {"ref", 3}});
  EXPECT_EQ(member.next_answer()["members"].size(), 2u);
  member.send_json({{"type", "presence"}, {"room", "news"}, {"ref", 4}});
  forbidden_answer(4, member.next_answer());

  // publish: room messages to matching rooms, membership not needed; being
  // a member (rooms) does not allow publishing.
  member.send_json({{"type", "room"}, {"room", "chat:x"}, {"ref", 5}, {"data", "no"}});
  forbidden_answer(5, member.next_answer());
  member.send_json({{"type", "room"}, {"room", "news"}, {"ref", 6}, {"data", "headline"}});
  expect_ack(member, 6);
  json news = watcher.next_of_type("message");
  EXPECT_EQ(news["room"], "news");
  EXPECT_EQ(news["data"], "headline");
  EXPECT_EQ(news["from_user"], "member");

  // broadcast: allowed by its claim; direct: refused by `direct: false`.
  member.send_json({{"type", "broadcast"}, {"ref", 7}, {"data", "all"}});
  expect_ack(member, 7);
  EXPECT_EQ(watcher.next_of_type("message")["scope"], "broadcast");
  member.send_json({{"type", "direct"}, {"to", watcher.id()}, {"ref", 8}, {"data", "no"}});
  forbidden_answer(8, member.next_answer());
  // The broadcast reached the sender too; nothing else arrives.
  EXPECT_EQ(member.next_of_type("message")["scope"], "broadcast");
  expect_quiet(loop_, {&member, &watcher});
}

TEST_F(auth_test, refused_requests_are_counted_in_metrics) {
  start_with_auth();
  ws_client nobody = connect_granted("nobody", json::object(), 0);
  nobody.send_json({{"type", "broadcast"}, {"ref", 1}, {"data", 1}});
  forbidden_answer(1, nobody.next_answer());
  EXPECT_EQ(upgrade(server().port(), "/ws?token=garbage").status, 401u);
  auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
  EXPECT_TRUE(metrics.problems.empty());
  EXPECT_EQ(metrics.value("switchboard_errors_total", "test-node", 0, "code=\"forbidden\""), 1);
  double malformed = metrics.value("switchboard_auth_failures_total", "test-node", 0, "reason=\"malformed\"") +
                     metrics.value("switchboard_auth_failures_total", "test-node", 1, "reason=\"malformed\"");
  EXPECT_EQ(malformed, 1);
}

TEST_F(cluster_test, client_broadcast_no_forbids_broadcast_and_nothing_else) {
  start_server({.extra_flags = {"--client-broadcast", "no"}});
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  a.send_json({{"type", "broadcast"}, {"ref", 1}, {"data", 1}});
  json answer = a.next_answer();
  EXPECT_EQ(answer.value("code", ""), "forbidden") << answer.dump();
  EXPECT_EQ(answer.value("ref", -1), 1);
  b.send_json({{"type", "join"}, {"room", "r"}, {"ref", 2}});
  EXPECT_EQ(b.next_answer(), (json{{"type", "ack"}, {"ref", 2}}));
  a.send_json({{"type", "room"}, {"room", "r"}, {"ref", 3}, {"data", 3}});
  EXPECT_EQ(a.next_answer(), (json{{"type", "ack"}, {"ref", 3}}));
  EXPECT_EQ(b.next_of_type("message")["data"], 3);
  expect_quiet(loop_, {&a, &b});
}

TEST_F(auth_test, client_broadcast_no_wins_over_the_broadcast_claim) {
  start_with_auth({"--client-broadcast", "no"});
  ws_client a = connect_granted("a", {{"broadcast", true}});
  a.send_json({{"type", "broadcast"}, {"ref", 1}, {"data", 1}});
  forbidden_answer(1, a.next_answer());
}

}  // namespace
}  // namespace switchboard::testing
