// Member events (PROTOCOL.md, `join` with "events"), against the real binary
// with 2 workers, a second node where it matters, and a real redis-server:
// joins and leaves of others across workers, leaves by close, by refresh and
// by the death of a worker or a node, each announced once, and never to the
// subject itself or to a member that did not ask.
#include <gtest/gtest.h>

#include <signal.h>

#include <string>

#include "tests/integration/auth_fixture.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

void join(ws_client& c, const std::string& room, bool events = false) {
  json request{{"type", "join"}, {"room", room}, {"ref", 1}};
  if (events) request["events"] = true;
  c.send_json(request);
  ASSERT_EQ(c.next_answer(), (json{{"type", "ack"}, {"ref", 1}})) << c.describe();
}

json event(const std::string& kind, const std::string& room, const ws_client& subject) {
  return {{"type", "member"}, {"event", kind}, {"room", room}, {"id", subject.id()}};
}

TEST_F(cluster_test, watchers_hear_of_joins_and_leaves_across_workers) {
  start_server();
  ws_client watcher = connect_on(0);
  ws_client quiet = connect_on(0);
  ws_client other = connect_on(1);
  join(watcher, "r", true);
  join(quiet, "r");
  EXPECT_EQ(watcher.next_of_type("member"), event("joined", "r", quiet));
  join(other, "r");
  EXPECT_EQ(watcher.next_of_type("member"), event("joined", "r", other));
  other.send_json({{"type", "leave"}, {"room", "r"}, {"ref", 2}});
  EXPECT_EQ(other.next_answer(), (json{{"type", "ack"}, {"ref", 2}}));
  EXPECT_EQ(watcher.next_of_type("member"), event("left", "r", other));
  {
    ws_client passing = connect_on(1);
    join(passing, "r");
    EXPECT_EQ(watcher.next_of_type("member"), event("joined", "r", passing));
  }  // closes: a leave by disconnect
  json left = watcher.next_of_type("member");
  EXPECT_EQ(left.value("event", ""), "left");
  // The watcher heard nothing of itself; the quiet member nothing at all.
  expect_quiet(loop_, {&watcher, &quiet, &other});
}

TEST_F(cluster_test, bad_events_is_a_bad_request) {
  start_server();
  ws_client a = connect();
  a.send_json({{"type", "join"}, {"room", "r"}, {"events", "yes"}, {"ref", 1}});
  EXPECT_EQ(a.next_answer().value("code", ""), "bad_request");
}

TEST_F(cluster_test, members_of_a_killed_worker_leave_once) {
  start_server({.extra_flags = {"--liveness-seconds", "1"}});
  ws_client watcher = connect_on(0);
  ws_client doomed = connect_on(1);
  join(watcher, "r", true);
  join(doomed, "r");
  EXPECT_EQ(watcher.next_of_type("member"), event("joined", "r", doomed));
  ASSERT_EQ(::kill(server().worker_serving(doomed.local_port()), SIGKILL), 0);
  EXPECT_EQ(watcher.next_of_type("member", 10s), event("left", "r", doomed));
  expect_quiet(loop_, {&watcher}, 2500ms);
}

TEST_F(cluster_test, members_of_a_killed_node_leave_once) {
  start_server({.node = "node-a", .extra_flags = {"--liveness-seconds", "1"}});
  std::optional<node_process> doomed_node;
  doomed_node.emplace(switchboard_binary, redis(),
                      node_options{.node = "node-b", .extra_flags = {"--liveness-seconds", "1"}});
  ws_client w0 = connect_on(0);
  ws_client w1 = connect_on(1);
  ws_client b1(loop_);
  b1.connect(doomed_node->ws_url());
  ws_client b2(loop_);
  b2.connect(doomed_node->ws_url());
  join(w0, "n", true);
  join(w1, "n", true);
  EXPECT_EQ(w0.next_of_type("member"), event("joined", "n", w1));
  join(b1, "n");
  join(b2, "n");
  for (ws_client* w : {&w0, &w1})
    for (int i = 0; i < 2; ++i) EXPECT_EQ(w->next_of_type("member").value("event", ""), "joined");

  auto pids = doomed_node->worker_pids();
  pids.push_back(doomed_node->pid());
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  for (ws_client* w : {&w0, &w1}) {
    std::set<std::string> gone;
    for (int i = 0; i < 2; ++i) {
      json e = w->next_of_type("member", 10s);
      EXPECT_EQ(e.value("event", ""), "left") << e.dump();
      gone.insert(e.value("id", ""));
    }
    EXPECT_EQ(gone, (std::set<std::string>{b1.id(), b2.id()})) << w->describe();
  }
  expect_quiet(loop_, {&w0, &w1}, 2500ms);
  doomed_node.reset();
}

TEST_F(auth_test, member_events_carry_the_user_and_a_refresh_narrowing_is_a_leave) {
  start_with_auth();
  ws_client watcher = connect_granted("watcher", {{"rooms", {"*"}}}, 0);
  ws_client alice = connect_granted("alice", {{"rooms", {"a"}}}, 1);
  join(watcher, "a", true);
  join(alice, "a");
  json joined = event("joined", "a", alice);
  joined["user"] = "alice";
  EXPECT_EQ(watcher.next_of_type("member"), joined);
  alice.send_json({{"type", "refresh"}, {"token", mint_hs256(claims_for("alice", 3600, {{"rooms", {"b"}}}))}, {"ref", 2}});
  EXPECT_EQ(alice.next().value("type", ""), "left");
  json left = event("left", "a", alice);
  left["user"] = "alice";
  EXPECT_EQ(watcher.next_of_type("member"), left);
  expect_quiet(loop_, {&watcher});
}

}  // namespace
}  // namespace switchboard::testing
