// Many nodes behind a real load balancer: HAProxy and nginx from Debian, run
// with the configurations shipped in deploy/, in front of two real nodes of
// two workers each that share one real redis-server.

#include <signal.h>
#include <sys/wait.h>

#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/proxy_process.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

// Node a keeps draining this long when a client does not answer its close:
// long enough to watch the balancer route around a node that still runs.
constexpr int long_drain_seconds = 10;
// HAProxy's checks (1 s apart, 500 ms after a failure, 1 s timeout, two
// failures) take a node out within 3.5 s; the rest is for a loaded machine.
constexpr auto leave_rotation_bound = 8s;

std::filesystem::path shipped_config(proxy_kind kind) {
  return deploy_file(kind == proxy_kind::haproxy ? "haproxy/haproxy.cfg" : "nginx/nginx.conf");
}

// Two nodes, "a" and "b", on one Redis, with a balancer in front of them.
class load_balancer_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SERVER();
    redis_.emplace();
  }

  // Nodes a and b (two workers each unless told otherwise), then the
  // balancer in front of them.
  void start_cluster(proxy_kind kind, node_options a = {}, node_options b = {}) {
    a.node = "a";
    b.node = "b";
    node_a_.emplace(switchboard_binary, *redis_, std::move(a));
    node_b_.emplace(switchboard_binary, *redis_, std::move(b));
    proxy_.emplace(kind, shipped_config(kind), std::vector<std::string>{node_a_->address(), node_b_->address()});
  }

  // A client through the balancer, on whichever node it picks.
  ws_client& connect(std::deque<ws_client>& into, connect_options options = {}) {
    into.emplace_back(loop_);
    into.back().connect(proxy_->ws_url(), options);
    return into.back();
  }

  // `count` clients through the balancer, one after the other.
  std::deque<ws_client> connect_many(int count) {
    std::deque<ws_client> clients;
    for (int i = 0; i < count; ++i) connect(clients);
    return clients;
  }

  // Declared first so that it outlives every client; the balancer goes
  // before the nodes, the nodes before Redis.
  test_loop loop_;
  std::optional<redis_process> redis_;
  std::optional<node_process> node_a_;
  std::optional<node_process> node_b_;
  std::optional<proxy_process> proxy_;
};

std::map<std::string, int> count_by_node(const std::deque<ws_client>& clients) {
  std::map<std::string, int> counts;
  for (const auto& client : clients) ++counts[client.node()];
  return counts;
}

ws_client& first_on(std::deque<ws_client>& clients, const std::string& node, int skip = 0) {
  for (auto& client : clients)
    if (client.node() == node && skip-- == 0) return client;
  ADD_FAILURE() << "not enough clients on node " << node;
  throw wait_failed("no client on node " + node);
}

void expect_delivery(const json& frame, std::string_view scope, const ws_client& from, const json& data) {
  EXPECT_EQ(frame.value("type", ""), "message") << frame.dump();
  EXPECT_EQ(frame.value("scope", ""), scope) << frame.dump();
  EXPECT_EQ(frame.value("from", ""), from.id()) << frame.dump();
  EXPECT_EQ(frame["data"], data) << frame.dump();
}

// Broadcast, direct and room messages between clients of different nodes.
void expect_messages_cross_nodes(test_loop& loop, std::deque<ws_client>& clients) {
  ws_client& a0 = first_on(clients, "a");
  ws_client& a1 = first_on(clients, "a", 1);
  ws_client& b0 = first_on(clients, "b");
  ws_client& b1 = first_on(clients, "b", 1);
  std::vector<ws_client*> everyone;
  for (auto& client : clients) everyone.push_back(&client);
  auto expect_all_quiet = [&] {
    loop.run_for(300ms);
    for (ws_client* client : everyone)
      for (const auto& frame : client->take_all())
        ADD_FAILURE() << client->describe() << " got an unexpected frame: " << frame.dump();
  };

  for (ws_client* sender : {&a0, &b0}) {
    SCOPED_TRACE("broadcast from " + sender->describe() + " on node " + sender->node());
    const json data = {{"hello from", sender->node()}};
    sender->send_json({{"type", "broadcast"}, {"ref", "bc"}, {"data", data}});
    EXPECT_EQ(sender->next_answer(), (json{{"type", "ack"}, {"ref", "bc"}}));
    for (ws_client* client : everyone) expect_delivery(client->next_of_type("message"), "broadcast", *sender, data);
    expect_all_quiet();
  }

  for (auto [sender, target] : {std::pair{&a0, &b1}, std::pair{&b0, &a1}}) {
    SCOPED_TRACE("direct " + sender->node() + " -> " + target->node());
    sender->send_json({{"type", "direct"}, {"to", target->id()}, {"ref", "dm"}, {"data", "psst"}});
    EXPECT_EQ(sender->next_answer(), (json{{"type", "ack"}, {"ref", "dm"}}));
    json frame = target->next();
    expect_delivery(frame, "direct", *sender, "psst");
    EXPECT_EQ(frame.value("to", ""), target->id()) << frame.dump();
    expect_all_quiet();
  }

  // Members on both nodes; the sender is on node a and not a member.
  for (ws_client* member : {&a0, &b1}) {
    member->send_json({{"type", "join"}, {"room", "lobby"}, {"ref", "j"}});
    EXPECT_EQ(member->next_answer(), (json{{"type", "ack"}, {"ref", "j"}}));
  }
  a1.send_json({{"type", "room"}, {"room", "lobby"}, {"ref", "r"}, {"data", "hi all"}});
  EXPECT_EQ(a1.next_answer(), (json{{"type", "ack"}, {"ref", "r"}}));
  for (ws_client* member : {&a0, &b1}) {
    json frame = member->next();
    expect_delivery(frame, "room", a1, "hi all");
    EXPECT_EQ(frame.value("room", ""), "lobby") << frame.dump();
  }
  expect_all_quiet();
}

// Steady broadcast traffic: each sender keeps a few numbered broadcasts in
// flight, and every frame that any client receives is collected, so that
// each client's deliveries can be held against the senders' acks.
class broadcast_traffic {
 public:
  explicit broadcast_traffic(test_loop& loop) : loop_(loop) {}

  void add_sender(ws_client& client) {
    senders_[&client].id = client.id();
    watch(client);
  }
  // A client whose deliveries are collected (a sender is one already).
  void watch(ws_client& client) { received_[&client]; }

  // Serves every client until `done()` holds or `timeout` passes, sending as
  // acks come back; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      collect();
      if (done()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (sending_) send();
      // At most one new message per sender per tick: a few hundred a second.
      loop_.run_for(5ms);
    }
  }
  void run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
  }
  void stop_sending() { sending_ = false; }

  // The acked sequence numbers of `sender`.
  const std::set<int>& acked(ws_client& sender) { return senders_.at(&sender).acked; }
  // The sequence numbers from `sender` that `client` received, in order.
  const std::vector<int>& received(ws_client& client, ws_client& sender) {
    return received_[&client][senders_.at(&sender).id];
  }
  std::vector<std::string> errors() const { return errors_; }

  // True once `client` holds every message `sender` had acked.
  bool has_all_acked(ws_client& client, ws_client& sender) {
    const auto& got = received(client, sender);
    std::set<int> seen(got.begin(), got.end());
    const auto& want = acked(sender);
    return std::includes(seen.begin(), seen.end(), want.begin(), want.end());
  }

 private:
  struct sender_state {
    std::string id;
    int next = 0;
    int in_flight = 0;
    std::set<int> acked;
  };
  static constexpr int window = 4;

  void send() {
    for (auto& [client, state] : senders_) {
      if (!client->is_open() || state.in_flight >= window) continue;
      client->send_json({{"type", "broadcast"}, {"ref", state.next}, {"data", {{"seq", state.next}}}});
      ++state.next;
      ++state.in_flight;
    }
  }

  void collect() {
    for (auto& [client, by_sender] : received_) {
      for (const auto& frame : client->take_all()) {
        const auto type = frame.value("type", "");
        if (type == "message" && frame.value("scope", "") == "broadcast") {
          by_sender[frame.value("from", "")].push_back(frame["data"].value("seq", -1));
        } else if (type == "ack" && senders_.contains(client)) {
          auto& state = senders_[client];
          state.acked.insert(frame["ref"].get<int>());
          --state.in_flight;
        } else {
          errors_.push_back(client->describe() + ": " + frame.dump());
        }
      }
    }
  }

  test_loop& loop_;
  bool sending_ = true;
  std::map<ws_client*, sender_state> senders_;
  std::map<ws_client*, std::map<std::string, std::vector<int>>> received_;
  std::vector<std::string> errors_;
};

// Stops the traffic, then expects every message the senders had acked to
// reach each client in `stayed`, in order and once.
void expect_no_acked_message_lost(broadcast_traffic& traffic, const std::vector<ws_client*>& stayed,
                                  const std::vector<ws_client*>& senders) {
  traffic.stop_sending();
  auto all_delivered = [&] {
    for (ws_client* client : stayed)
      for (ws_client* sender : senders)
        if (!traffic.has_all_acked(*client, *sender)) return false;
    return true;
  };
  EXPECT_TRUE(traffic.run_until(all_delivered, 10s)) << "a client that stayed lost an acknowledged message";
  for (ws_client* sender : senders)
    EXPECT_GT(traffic.acked(*sender).size(), 10u) << "too little traffic from " << sender->describe();
  for (ws_client* client : stayed) {
    for (ws_client* sender : senders) {
      const auto& got = traffic.received(*client, *sender);
      EXPECT_TRUE(std::is_sorted(got.begin(), got.end()) && std::adjacent_find(got.begin(), got.end()) == got.end())
          << client->describe() << " got " << sender->describe() << "'s messages out of order or twice";
      std::set<int> seen(got.begin(), got.end());
      for (int seq : traffic.acked(*sender))
        if (!seen.contains(seq))
          ADD_FAILURE() << client->describe() << " lost acked message " << seq << " of " << sender->describe();
    }
  }
  for (const auto& error : traffic.errors()) ADD_FAILURE() << "unexpected frame: " << error;
}

// The clients of `clients` on `node`.
std::vector<ws_client*> on_node(std::deque<ws_client>& clients, const std::string& node) {
  std::vector<ws_client*> found;
  for (auto& client : clients)
    if (client.node() == node) found.push_back(&client);
  return found;
}

TEST_F(load_balancer_test, shipped_haproxy_config_passes_haproxy_check) {
  SWITCHBOARD_REQUIRE_PROGRAM("haproxy");
  auto result = proxy_process::check(proxy_kind::haproxy, shipped_config(proxy_kind::haproxy),
                                     {"127.0.0.1:8081", "127.0.0.1:8082"});
  EXPECT_EQ(result.status, 0) << "haproxy -c: " << describe_wait_status(result.status) << "\n" << result.output;
}

TEST_F(load_balancer_test, shipped_nginx_config_passes_nginx_t) {
  SWITCHBOARD_REQUIRE_PROGRAM("nginx");
  auto result = proxy_process::check(proxy_kind::nginx, shipped_config(proxy_kind::nginx),
                                     {"127.0.0.1:8081", "127.0.0.1:8082"});
  EXPECT_EQ(result.status, 0) << "nginx -t: " << describe_wait_status(result.status) << "\n" << result.output;
  EXPECT_NE(result.output.find("test is successful"), std::string::npos) << result.output;
}

TEST_F(load_balancer_test, haproxy_spreads_clients_over_both_nodes_and_messages_cross_them) {
  SWITCHBOARD_REQUIRE_PROGRAM("haproxy");
  start_cluster(proxy_kind::haproxy);
  EXPECT_EQ(http_get(proxy_->port(), "/healthz").body, "ok");

  // leastconn: each new client goes to the node holding fewer of them.
  auto clients = connect_many(8);
  auto counts = count_by_node(clients);
  EXPECT_EQ(counts["a"], 4) << "clients on node a";
  EXPECT_EQ(counts["b"], 4) << "clients on node b";
  expect_messages_cross_nodes(loop_, clients);
}

TEST_F(load_balancer_test, haproxy_takes_a_draining_node_out_and_its_clients_move_without_loss) {
  SWITCHBOARD_REQUIRE_PROGRAM("haproxy");
  start_cluster(proxy_kind::haproxy, {.drain_seconds = long_drain_seconds});
  auto clients = connect_many(8);
  ASSERT_EQ(count_by_node(clients)["a"], 4);
  // A client of node a that reads nothing, so it cannot answer the close:
  // node a keeps draining, and keeps running, until its drain time is up.
  ws_client stuck(loop_);
  stuck.connect(node_a_->ws_url(), {.paused = true});

  // Under load: a sender on each node, every client watching.
  broadcast_traffic traffic(loop_);
  ws_client& sender_a = first_on(clients, "a");
  ws_client& sender_b = first_on(clients, "b");
  traffic.add_sender(sender_a);
  traffic.add_sender(sender_b);
  for (auto& client : clients) traffic.watch(client);
  traffic.run_for(500ms);

  node_a_->signal(SIGTERM);
  // Node a says goodbye to its clients; node b's stay.
  auto a_closed = [&] {
    for (auto& client : clients)
      if (client.node() == "a" && client.is_open()) return false;
    return true;
  };
  ASSERT_TRUE(traffic.run_until(a_closed, 5s)) << "node a's clients were not closed";
  for (auto& client : clients) {
    if (client.node() == "a")
      EXPECT_EQ(client.close_code(), 1001) << client.describe() << ": " << client.end_reason();
    else
      EXPECT_TRUE(client.is_open()) << client.describe() << " on node b lost its connection: " << client.end_reason();
  }

  // HAProxy's health checks take node a out of the rotation while it still
  // runs (it does not answer them: it drains).
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(traffic.run_until([&] { return proxy_->server_status("node1").starts_with("DOWN"); },
                                leave_rotation_bound))
      << "haproxy still has node a in rotation: " << proxy_->server_status("node1");
  EXPECT_EQ(proxy_->server_status("node2"), "UP");
  ASSERT_TRUE(node_a_->running()) << "node a exited before the check; its log:\n" << node_a_->log_tail();
  std::cerr << "node a left the rotation about "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled).count()
            << " ms after its clients were closed\n";

  // Node a's clients reconnect through HAProxy, new clients come too: all
  // of them land on node b, while node a still runs.
  std::deque<ws_client> moved;
  for (int i = 0; i < 6; ++i) {
    ws_client& client = connect(moved);
    EXPECT_EQ(client.node(), "b") << client.describe() << " landed on draining node a";
    traffic.watch(client);
  }
  EXPECT_TRUE(node_a_->running()) << "node a exited before the reconnects; the test proves less than it says";

  // No acknowledged message is lost for the clients that stayed: every one
  // the senders had acked (including the node a sender's, up to its close)
  // reaches each of them, in order.
  traffic.run_for(300ms);
  expect_no_acked_message_lost(traffic, on_node(clients, "b"), {&sender_a, &sender_b});

  // The stuck client reads its goodbye at last, and node a finishes.
  stuck.resume_reading();
  ASSERT_TRUE(stuck.wait_closed(std::chrono::seconds(long_drain_seconds) + 5s));
  EXPECT_EQ(stuck.close_code(), 1001) << stuck.end_reason();
  auto status = node_a_->wait_exit(std::chrono::seconds(long_drain_seconds) + 5s);
  ASSERT_TRUE(status.has_value()) << "node a did not exit after draining";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
  EXPECT_TRUE(proxy_->server_status("node1").starts_with("DOWN")) << proxy_->server_status("node1");
}

// The recommended set-up (deploy/README.md): the drain notice covers
// HAProxy's checks, so the node is out of the rotation before it closes its
// clients, and they can reconnect at once.
TEST_F(load_balancer_test, haproxy_with_a_drain_notice_moves_clients_at_once) {
  SWITCHBOARD_REQUIRE_PROGRAM("haproxy");
  constexpr int notice_seconds = 3;
  start_cluster(proxy_kind::haproxy, {.extra_flags = {"--drain-notice-seconds", std::to_string(notice_seconds)}});
  auto clients = connect_many(6);
  ASSERT_EQ(count_by_node(clients)["a"], 3);
  broadcast_traffic traffic(loop_);
  ws_client& sender_a = first_on(clients, "a");
  ws_client& sender_b = first_on(clients, "b");
  traffic.add_sender(sender_a);
  traffic.add_sender(sender_b);
  for (auto& client : clients) traffic.watch(client);
  traffic.run_for(300ms);

  // During the notice node a answers /healthz with 503 and still serves its
  // clients: HAProxy takes it out before anyone is closed.
  node_a_->signal(SIGTERM);
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(traffic.run_until([&] { return proxy_->server_status("node1").starts_with("DOWN"); },
                                std::chrono::seconds(notice_seconds)))
      << "haproxy still has node a in rotation at the end of the notice: " << proxy_->server_status("node1");
  std::cerr << "node a left the rotation "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled).count()
            << " ms into its " << notice_seconds << " s notice\n";
  for (auto& client : clients)
    EXPECT_TRUE(client.is_open()) << client.describe() << " closed during the notice: " << client.end_reason();
  std::deque<ws_client> moved;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(connect(moved).node(), "b") << "a new client landed on node a";

  // Then node a closes its clients, and each reconnects at once, to node b.
  auto a_closed = [&] {
    for (auto& client : clients)
      if (client.node() == "a" && client.is_open()) return false;
    return true;
  };
  ASSERT_TRUE(traffic.run_until(a_closed, std::chrono::seconds(notice_seconds) + 5s));
  for (auto& client : clients) {
    if (client.node() != "a") continue;
    EXPECT_EQ(client.close_code(), 1001) << client.describe() << ": " << client.end_reason();
    ws_client& again = connect(moved);
    EXPECT_EQ(again.node(), "b") << "a reconnecting client landed on node a";
    traffic.watch(again);
  }

  traffic.run_for(300ms);
  expect_no_acked_message_lost(traffic, on_node(clients, "b"), {&sender_a, &sender_b});
  auto status = node_a_->wait_exit(10s);
  ASSERT_TRUE(status.has_value()) << "node a did not exit after draining";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
}

// A node that turns an upgrade away with 503 (here: full) did nothing with
// it; HAProxy sends it to the other node instead of failing the client.
TEST_F(load_balancer_test, haproxy_retries_an_upgrade_that_a_full_node_refuses) {
  SWITCHBOARD_REQUIRE_PROGRAM("haproxy");
  const node_options one_slot{.workers = 1, .extra_flags = {"--max-connections", "1"}};
  start_cluster(proxy_kind::haproxy, one_slot, {.workers = 1});
  // Node a is full with a client that came around HAProxy, so HAProxy still
  // counts it empty and keeps picking it first.
  ws_client direct(loop_);
  direct.connect(node_a_->ws_url());
  // Once node b holds one, node a looks the less loaded: every further
  // upgrade goes there first, gets 503, and is sent again to node b.
  std::deque<ws_client> clients;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(connect(clients).node(), "b");
  EXPECT_TRUE(direct.is_open());
}

TEST_F(load_balancer_test, nginx_carries_websockets_across_nodes_and_around_a_stopped_one) {
  SWITCHBOARD_REQUIRE_PROGRAM("nginx");
  start_cluster(proxy_kind::nginx);
  EXPECT_EQ(http_get(proxy_->port(), "/healthz").body, "ok");

  // least_conn, with the counts shared by nginx's workers (zone).
  auto clients = connect_many(6);
  auto counts = count_by_node(clients);
  EXPECT_EQ(counts["a"], 3) << "clients on node a";
  EXPECT_EQ(counts["b"], 3) << "clients on node b";
  expect_messages_cross_nodes(loop_, clients);

  // Node a stops: its clients get 1001, and reconnecting through nginx takes
  // them to node b (the refused connection goes to the next upstream).
  node_a_->signal(SIGTERM);
  for (auto& client : clients) {
    if (client.node() != "a") continue;
    ASSERT_TRUE(client.wait_closed()) << client.describe() << " not closed";
    EXPECT_EQ(client.close_code(), 1001) << client.describe() << ": " << client.end_reason();
  }
  // nginx has no active health checks: it learns from the refused connection
  // only once node a has gone (a draining node's queue would hold it).
  ASSERT_TRUE(node_a_->wait_exit(10s).has_value()) << "node a did not exit";
  std::deque<ws_client> moved;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(connect(moved).node(), "b");
  ws_client& sender = moved.front();
  sender.send_json({{"type", "broadcast"}, {"ref", 1}, {"data", "after failover"}});
  EXPECT_EQ(sender.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  for (auto* group : {&clients, &moved})
    for (auto& client : *group)
      if (client.is_open()) expect_delivery(client.next_of_type("message"), "broadcast", sender, "after failover");
}

}  // namespace
}  // namespace switchboard::testing
