// The server end to end on a real Redis Cluster (--redis cluster://...):
// three primaries, each with a replica, on loopback, and two nodes of two
// workers on it, shared by the whole suite (a cluster takes seconds to
// form). Every scope across workers and nodes, rooms on every shard, one
// sender's order, history and recovery, an API batch over several slots;
// then the faults, last because they change the cluster: a busy room's
// slot resharded while its messages flow, a primary SIGKILLed and replaced
// by its replica, and a primary killed and started again before any
// failover.

#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/protocol/redis_keys.hpp"
#include "common/redis/key_slot.hpp"
#include "tests/integration/auth_fixture.hpp"
#include "tests/integration/failover_load.hpp"
#include "tests/support/cluster_servers.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using failover_load::broadcast_load;

const std::string api_key = "cluster-test-api-key-0123456789";
const redis_keys keys("sb:");
const json everything{{"rooms", {"*"}}, {"publish", {"*"}}, {"broadcast", true}};

class redis_cluster_server_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!cluster_servers::available()) return;
    cluster_ = new cluster_servers();
    start_nodes();
  }
  static void TearDownTestSuite() {
    nodes_.clear();
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_CLUSTER();
    ASSERT_NE(cluster_, nullptr);
    ASSERT_EQ(nodes_.size(), 2u) << "the nodes did not start";
  }

  static void start_nodes() {
    // The node checks its workers' subscriptions on one Redis: the
    // primary of the broadcast channel's slot, where every worker holds one.
    redis_process* broadcast_shard = cluster_->owner(redis::key_slot(keys.broadcast_channel()));
    if (!broadcast_shard) return;
    for (std::string name : {"node-a", "node-b"}) {
      node_options options{.node = name,
                           .extra_flags = {"--auth-secret", test_auth_secret, "--api-key", api_key, "--history-rooms",
                                           "chat:*,user:*", "--client-rate", "0"},
                           .redis_url = cluster_->url()};
      nodes_.push_back(std::make_unique<node_process>(switchboard_binary, *broadcast_shard, std::move(options)));
    }
  }

  node_process& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  ws_client connect(int node_index, const std::string& user, std::optional<int> worker = std::nullopt) {
    std::string url = node(node_index).ws_url() + "?token=" + mint_hs256(claims_for(user, 3600, everything));
    if (worker) return connect_on_worker(loop_, url, *worker, {});
    ws_client client(loop_);
    client.connect(url);
    return client;
  }
  json join(ws_client& client, const std::string& room, json since = nullptr) {
    json request{{"type", "join"}, {"room", room}, {"ref", "j"}};
    if (!since.is_null()) request["since"] = since;
    client.send_json(request);
    return client.next_answer();
  }
  http_response call(const json& body) {
    http_headers headers{{"Content-Type", "application/json"}, {"Authorization", "Bearer " + api_key}};
    return http_request(node(0).port(), "POST", "/api/publish", headers, body.dump(), 10s);
  }

  // Declared first so that it outlives every client.
  test_loop loop_;
  static inline cluster_servers* cluster_ = nullptr;
  static inline std::vector<std::unique_ptr<node_process>> nodes_;
};

TEST_F(redis_cluster_server_test, every_scope_across_workers_and_nodes) {
  ws_client a0 = connect(0, "ann", 0);
  ws_client a1 = connect(0, "bob", 1);
  ws_client b = connect(1, "bob");

  for (ws_client* member : {&a1, &b}) EXPECT_EQ(join(*member, "lobby"), (json{{"type", "ack"}, {"ref", "j"}}));
  a0.send_json({{"type", "presence"}, {"room", "lobby"}, {"ref", "p"}});
  json presence = a0.next_answer();
  std::set<std::string> members(presence["members"].begin(), presence["members"].end());
  EXPECT_EQ(members, (std::set<std::string>{a1.id(), b.id()})) << presence.dump();

  a0.send_json({{"type", "room"}, {"room", "lobby"}, {"data", "to the room"}, {"ref", "r"}});
  EXPECT_EQ(a0.next_answer(), (json{{"type", "ack"}, {"ref", "r"}}));
  EXPECT_EQ(a1.next_of_type("message")["data"], "to the room");
  EXPECT_EQ(b.next_of_type("message")["data"], "to the room");

  b.send_json({{"type", "direct"}, {"to", a1.id()}, {"data", "direct across nodes"}, {"ref", "d"}});
  EXPECT_EQ(b.next_answer(), (json{{"type", "ack"}, {"ref", "d"}}));
  EXPECT_EQ(a1.next_of_type("message")["data"], "direct across nodes");

  // bob's personal room: both of his connections, one per node.
  a0.send_json({{"type", "direct"}, {"user", "bob"}, {"data", "to bob"}, {"ref", "u"}});
  EXPECT_EQ(a0.next_answer().value("type", ""), "ack");
  EXPECT_EQ(a1.next_of_type("message")["data"], "to bob");
  EXPECT_EQ(b.next_of_type("message")["data"], "to bob");

  a0.send_json({{"type", "broadcast"}, {"data", "everyone"}});
  for (ws_client* client : {&a0, &a1, &b}) EXPECT_EQ(client->next_of_type("message")["data"], "everyone");

  b.send_json({{"type", "leave"}, {"room", "lobby"}, {"ref", "l"}});
  EXPECT_EQ(b.next_answer(), (json{{"type", "ack"}, {"ref", "l"}}));
  a0.send_json({{"type", "presence"}, {"room", "lobby"}, {"ref", "p2"}});
  EXPECT_EQ(a0.next_answer()["members"], json::array({a1.id()}));
  expect_quiet(loop_, {&a0, &a1, &b});
}

TEST_F(redis_cluster_server_test, rooms_spread_over_every_shard_each_get_their_messages) {
  ws_client sender = connect(0, "ann");
  ws_client member = connect(1, "bob");
  std::vector<std::string> rooms;
  for (int i = 0; i < 24; ++i) rooms.push_back("spread-" + std::to_string(i));
  for (const auto& room : rooms) ASSERT_EQ(join(member, room).value("type", ""), "ack") << room;

  // Each primary holds some of the rooms' shard channels.
  for (redis_process* primary : cluster_->primaries()) {
    std::string channels = primary->command({"PUBSUB", "SHARDCHANNELS", "sb:room:{spread-*"});
    EXPECT_NE(channels, "[]") << "no room channel on the primary on port " << primary->port();
  }
  for (const auto& room : rooms) {
    sender.send_json({{"type", "room"}, {"room", room}, {"data", room}, {"ref", room}});
    EXPECT_EQ(sender.next_answer(), (json{{"type", "ack"}, {"ref", room}}));
  }
  std::set<std::string> got;
  for (std::size_t i = 0; i < rooms.size(); ++i) got.insert(member.next_of_type("message")["room"].get<std::string>());
  EXPECT_EQ(got, std::set<std::string>(rooms.begin(), rooms.end()));
  EXPECT_EQ(http_get(node(0).port(), "/healthz").status, 200u);
  EXPECT_EQ(http_get(node(1).port(), "/healthz").status, 200u);
}

TEST_F(redis_cluster_server_test, one_senders_messages_keep_their_order_with_hundreds_in_flight) {
  ws_client sender = connect(0, "ann");
  ws_client member = connect(1, "bob");
  // Two rooms on different shards, and direct messages: each keeps its order.
  std::vector<std::string> rooms{"order-a", "order-b"};
  ASSERT_NE(cluster_->owner(redis::key_slot(keys.room_channel(rooms[0]))),
            cluster_->owner(redis::key_slot(keys.room_channel(rooms[1]))));
  for (const auto& room : rooms) ASSERT_EQ(join(member, room).value("type", ""), "ack");
  constexpr int count = 300;
  for (int i = 0; i < count; ++i) {
    sender.send_json({{"type", "room"}, {"room", rooms[i % 2]}, {"data", i}, {"ref", i}});
    sender.send_json({{"type", "direct"}, {"to", member.id()}, {"data", i}, {"ref", count + i}});
  }
  for (int i = 0; i < 2 * count; ++i) {
    json answer = sender.next_answer();
    ASSERT_EQ(answer.value("type", ""), "ack") << answer.dump();
    EXPECT_EQ(answer["ref"], i % 2 == 0 ? i / 2 : count + i / 2) << "answers out of request order";
  }
  std::map<std::string, std::vector<int>> seen;  // room, or "direct"
  for (int i = 0; i < 2 * count; ++i) {
    json message = member.next_of_type("message");
    std::string scope = message.value("scope", "");
    seen[scope == "room" ? message["room"].get<std::string>() : scope].push_back(message["data"].get<int>());
  }
  for (auto& [where, numbers] : seen) {
    EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end())) << where << " out of order";
    EXPECT_EQ(numbers.size(), where == "direct" ? count : count / 2) << where;
  }
}

TEST_F(redis_cluster_server_test, history_recovers_rooms_and_personal_rooms) {
  ws_client sender = connect(0, "ann");
  std::map<std::string, json> places;
  {
    ws_client away = connect(1, "carol");
    for (std::string room : {"chat:kept", "user:carol"}) {
      json ack = join(away, room);
      ASSERT_TRUE(ack.contains("epoch")) << room << ": " << ack.dump();
      places[room] = {{"offset", ack["offset"]}, {"epoch", ack["epoch"]}};
    }
  }
  for (int i = 1; i <= 3; ++i) {
    sender.send_json({{"type", "room"}, {"room", "chat:kept"}, {"data", i}, {"ref", i}});
    EXPECT_EQ(sender.next_answer().value("type", ""), "ack");
    sender.send_json({{"type", "direct"}, {"user", "carol"}, {"data", 10 + i}, {"ref", 10 + i}});
    EXPECT_EQ(sender.next_answer().value("type", ""), "ack");
  }
  ws_client back = connect(1, "carol");
  for (auto& [room, since] : places) {
    json ack = join(back, room, since);
    EXPECT_EQ(ack["recovered"], true) << room << ": " << ack.dump();
    int first = room == "chat:kept" ? 1 : 11;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(back.next_of_type("message")["data"], first + i) << room;
  }
  expect_quiet(loop_, {&back});
}

TEST_F(redis_cluster_server_test, an_api_batch_over_several_slots_is_delivered_in_order) {
  ws_client member = connect(1, "dave");
  std::vector<std::string> rooms{"batch-1", "batch-2", "batch-3", "chat:batch", "batch-4"};
  std::set<const redis_process*> shards;
  for (const auto& room : rooms) {
    ASSERT_EQ(join(member, room).value("type", ""), "ack");
    shards.insert(cluster_->owner(redis::key_slot(keys.room_channel(room))));
  }
  EXPECT_GE(shards.size(), 2u) << "the batch should span shards";
  json batch = json::array();
  for (int i = 0; i < 10; ++i) batch.push_back({{"scope", "room"}, {"room", rooms[i % rooms.size()]}, {"data", i}});
  http_response res = call(batch);
  ASSERT_EQ(res.status, 202u) << res.body;
  json body = json::parse(res.body);
  ASSERT_EQ(body["positions"].size(), 10u) << res.body;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(body["positions"][i].is_null(), rooms[i % rooms.size()] != "chat:batch") << res.body;
  std::map<std::string, std::vector<int>> got;
  for (int i = 0; i < 10; ++i) {
    json message = member.next_of_type("message");
    got[message["room"]].push_back(message["data"].get<int>());
  }
  for (std::size_t r = 0; r < rooms.size(); ++r)
    EXPECT_EQ(got[rooms[r]], (std::vector<int>{static_cast<int>(r), static_cast<int>(r + rooms.size())}))
        << rooms[r];
}

// Two senders on the workers of node A and two listeners on node B's, 200
// messages/s (`request`: broadcasts, or one room's messages, which every
// client joins first), through `fail`, until messages have been
// acknowledged again for 2 s after `back` said the slot is served again.
void load_through_fault(test_loop& loop, node_process& a, node_process& b, const json& request,
                        const std::function<void()>& fail, const std::function<bool()>& back,
                        const std::string& what) {
  auto url = [](node_process& n, const std::string& user) {
    return n.ws_url() + "?token=" + mint_hs256(claims_for(user, 3600, everything));
  };
  ws_client s0 = connect_on_worker(loop, url(a, "s0"), 0);
  ws_client s1 = connect_on_worker(loop, url(a, "s1"), 1);
  ws_client r0 = connect_on_worker(loop, url(b, "r0"), 0);
  ws_client r1 = connect_on_worker(loop, url(b, "r1"), 1);
  if (request.contains("room"))
    for (ws_client* client : {&s0, &s1, &r0, &r1}) {
      client->send_json({{"type", "join"}, {"room", request["room"]}, {"ref", "j"}});
      ASSERT_EQ(client->next_answer().value("type", ""), "ack");
    }
  broadcast_load load(loop, {&s0, &s1}, {&s0, &s1, &r0, &r1}, request);
  load.through_fault(fail, back, what);
}

const json broadcasts{{"type", "broadcast"}};

// redis-cli --cluster reshard moves a source's lowest slots first: a room
// whose channel is in slot 0 moves with --cluster-slots 1.
TEST_F(redis_cluster_server_test, a_busy_rooms_slot_resharded_under_traffic_keeps_the_room_receiving) {
  std::string room;
  for (int n = 0; room.empty(); ++n)
    if (redis::key_slot(keys.room_channel("busy-" + std::to_string(n))) == 0) room = "busy-" + std::to_string(n);
  redis_process* from = cluster_->owner(0);
  ASSERT_NE(from, nullptr);
  redis_process* to = nullptr;
  for (redis_process* p : cluster_->primaries())
    if (p != from) to = p;
  ASSERT_NE(to, nullptr);
  std::string from_id = from->command({"CLUSTER", "MYID"});
  std::string to_id = to->command({"CLUSTER", "MYID"});
  std::thread reshard;
  bool moved = false;
  load_through_fault(
      loop_, node(0), node(1), {{"type", "room"}, {"room", room}},
      [&] {
        reshard = std::thread([&] {
          moved = cluster_->run_cli({"--cluster", "reshard", "127.0.0.1:" + std::to_string(from->port()),
                                     "--cluster-from", from_id, "--cluster-to", to_id, "--cluster-slots", "1",
                                     "--cluster-yes"},
                                    "reshard.log");
        });
      },
      [&] { return cluster_->owner(0) == to; }, "slot 0 resharded");
  if (reshard.joinable()) reshard.join();
  EXPECT_TRUE(moved) << "redis-cli --cluster reshard failed";
  EXPECT_EQ(cluster_->owner(0), to);
  EXPECT_TRUE(cluster_->wait_healthy(10s));
}

TEST_F(redis_cluster_server_test, a_primary_killed_under_load_is_replaced_and_loses_no_acknowledged_message) {
  const std::uint16_t slot = redis::key_slot(keys.broadcast_channel());
  redis_process* primary = cluster_->owner(slot);
  ASSERT_NE(primary, nullptr);
  load_through_fault(
      loop_, node(0), node(1), broadcasts, [&] { primary->kill(); },
      [&] {
        redis_process* now = cluster_->owner(slot);
        return now != nullptr && now != primary;
      },
      "primary SIGKILLed, replica promoted");
  EXPECT_TRUE(cluster_->wait_healthy(10s));
}

TEST_F(redis_cluster_server_test, a_primary_restarted_before_any_failover_loses_no_acknowledged_message) {
  const std::uint16_t slot = redis::key_slot(keys.broadcast_channel());
  redis_process* primary = cluster_->owner(slot);
  ASSERT_NE(primary, nullptr);
  // Back well within cluster-node-timeout: no failover, the same map, but
  // every subscription the primary held is gone.
  load_through_fault(
      loop_, node(0), node(1), broadcasts,
      [&] {
        primary->kill();
        primary->start();
      },
      [&] { return cluster_->owner(slot) == primary; }, "primary killed and started again");
  EXPECT_TRUE(cluster_->wait_healthy(10s));
}

}  // namespace
}  // namespace switchboard::testing
