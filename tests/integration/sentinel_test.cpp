// The broker as a Redis Sentinel group (--redis sentinel://...): a primary,
// its replica and three sentinels, all real, on loopback. Every scope across
// workers and nodes, and failovers under load: SENTINEL FAILOVER, the
// primary SIGKILLed, and a primary demoted behind the workers' back.

#include <signal.h>

#include <functional>
#include <iostream>
#include <memory>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/integration/failover_load.hpp"
#include "tests/support/sentinel_servers.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;
using failover_load::broadcast_load;
using failover_load::clock;
using failover_load::ms_between;
using failover_load::no_budget;
using failover_load::recovery_bound;

class sentinel_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SENTINEL();
    servers_.emplace();
  }

  node_process& start_node(node_options options = {}) {
    options.redis_url = servers_->url();
    nodes_.push_back(std::make_unique<node_process>(switchboard_binary, servers_->server(0), std::move(options)));
    return *nodes_.back();
  }

  sentinel_servers& servers() { return *servers_; }

  test_loop loop_;
  std::optional<sentinel_servers> servers_;
  std::vector<std::unique_ptr<node_process>> nodes_;
};

// Two senders and two listeners over both workers, 200 broadcasts/s, a
// second of it, then `fail` (the failover's cause), then the load goes on
// until broadcasts have been acknowledged on the new primary for 2 s.
void load_through_failover(test_loop& loop, node_process& node, sentinel_servers& servers,
                           const std::function<void()>& fail, const std::string& what) {
  ws_client s0 = connect_on_worker(loop, node.ws_url(), 0);
  ws_client s1 = connect_on_worker(loop, node.ws_url(), 1);
  ws_client r0 = connect_on_worker(loop, node.ws_url(), 0);
  ws_client r1 = connect_on_worker(loop, node.ws_url(), 1);
  broadcast_load load(loop, {&s0, &s1}, {&s0, &s1, &r0, &r1});
  const std::uint16_t old_primary = servers.primary_port();
  // A sentinel that names another server has seen the promotion.
  auto promoted = [&] {
    for (int i = 0; i < servers.sentinel_count(); ++i) {
      std::uint16_t port = servers.primary_port(i);
      if (port != 0 && port != old_primary) return true;
    }
    return false;
  };
  load.through_fault(fail, promoted, what + ", promotion seen");
}

TEST_F(sentinel_test, every_scope_across_workers_and_nodes) {
  node_process& a_node = start_node({.node = "node-a"});
  node_process& b_node = start_node({.node = "node-b"});
  ws_client a = connect_on_worker(loop_, a_node.ws_url(), 0);
  ws_client a1 = connect_on_worker(loop_, a_node.ws_url(), 1);
  ws_client b(loop_);
  b.connect(b_node.ws_url());

  for (ws_client* member : {&a1, &b}) {
    member->send_json({{"type", "join"}, {"room", "lobby"}, {"ref", "j"}});
    EXPECT_EQ(member->next_answer(), (json{{"type", "ack"}, {"ref", "j"}}));
  }
  a.send_json({{"type", "presence"}, {"room", "lobby"}, {"ref", "p"}});
  json presence = a.next_answer();
  std::set<std::string> members(presence["members"].begin(), presence["members"].end());
  EXPECT_EQ(members, (std::set<std::string>{a1.id(), b.id()})) << presence.dump();

  a.send_json({{"type", "room"}, {"room", "lobby"}, {"data", "to the room"}, {"ref", "r"}});
  EXPECT_EQ(a.next_answer(), (json{{"type", "ack"}, {"ref", "r"}}));
  EXPECT_EQ(a1.next_of_type("message")["data"], "to the room");
  EXPECT_EQ(b.next_of_type("message")["data"], "to the room");

  b.send_json({{"type", "direct"}, {"to", a1.id()}, {"data", "direct across nodes"}, {"ref", "d"}});
  EXPECT_EQ(b.next_answer(), (json{{"type", "ack"}, {"ref", "d"}}));
  EXPECT_EQ(a1.next_of_type("message")["data"], "direct across nodes");

  a.send_json({{"type", "broadcast"}, {"data", "everyone"}});
  for (ws_client* client : {&a, &a1, &b}) EXPECT_EQ(client->next_of_type("message")["data"], "everyone");
  expect_quiet(loop_, {&a, &a1, &b});
}

TEST_F(sentinel_test, sentinel_failover_under_load_loses_no_acknowledged_message) {
  node_process& node = start_node({.extra_flags = no_budget});
  load_through_failover(loop_, node, servers(), [&] {
    EXPECT_EQ(servers().sentinel(0).command({"SENTINEL", "FAILOVER", sentinel_servers::master_name}), "OK");
  }, "SENTINEL FAILOVER");
}

TEST_F(sentinel_test, primary_killed_under_load_loses_no_acknowledged_message) {
  node_process& node = start_node({.extra_flags = no_budget});
  load_through_failover(loop_, node, servers(), [&] { servers().server(0).kill(); }, "primary SIGKILLed");
}

// The primary is demoted by hand while every sentinel is frozen: no
// +switch-master, no client killed, and the workers' subscribers sit on a
// replica. Their own checks (a READONLY reply, then ROLE on reconnect) must
// catch it: within 5 s no worker acknowledges anything, /healthz says 503,
// and no client is closed.
TEST_F(sentinel_test, a_worker_left_on_a_demoted_primary_stops_acknowledging) {
  node_process& node = start_node({.extra_flags = no_budget});
  ws_client c0 = connect_on_worker(loop_, node.ws_url(), 0);
  ws_client c1 = connect_on_worker(loop_, node.ws_url(), 1);
  c0.send_json({{"type", "broadcast"}, {"ref", "before"}, {"data", "before"}});
  EXPECT_EQ(c0.next_answer(), (json{{"type", "ack"}, {"ref", "before"}}));

  struct thaw_at_exit {
    sentinel_servers& servers;
    ~thaw_at_exit() {
      for (int i = 0; i < servers.sentinel_count(); ++i) servers.sentinel(i).resume();
    }
  } thaw{servers()};
  for (int i = 0; i < servers().sentinel_count(); ++i) servers().sentinel(i).pause();
  EXPECT_EQ(servers().server(1).command({"REPLICAOF", "NO", "ONE"}), "OK");
  EXPECT_EQ(servers().server(0).command({"REPLICAOF", "127.0.0.1", std::to_string(servers().server(1).port())}),
            "OK");
  const auto demoted_at = clock::now();

  // Both workers: unavailable, and it stays so (no ack from a replica).
  for (ws_client* client : {&c0, &c1}) {
    bool refused = false;
    while (!refused && clock::now() - demoted_at < recovery_bound) {
      client->send_json({{"type", "broadcast"}, {"ref", "probe"}, {"data", "after"}});
      refused = client->next_answer().value("code", "") == "unavailable";
      if (!refused) loop_.run_for(20ms);
    }
    EXPECT_TRUE(refused) << client->describe() << " still acknowledges 5 s after its primary was demoted";
  }
  std::cout << "[ failover ] demotion caught within " << ms_between(demoted_at, clock::now()) << " ms\n";
  EXPECT_TRUE(wait_health(node.port(), 503, 6, 5s)) << "/healthz did not answer 503 on the demoted primary";
  for (ws_client* client : {&c0, &c1}) {
    client->send_json({{"type", "broadcast"}, {"ref", "still"}, {"data", "still"}});
    EXPECT_EQ(client->next_answer().value("code", ""), "unavailable");
    EXPECT_TRUE(client->is_open()) << client->describe();
  }
}

}  // namespace
}  // namespace switchboard::testing
