// Rooms and presence: across workers, across nodes, subscription bookkeeping,
// the join/ack race, dead workers leaving presence, and bad input.

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <signal.h>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

json request(std::string type, std::string room, json ref) {
  return {{"type", std::move(type)}, {"room", std::move(room)}, {"ref", std::move(ref)}};
}

void join(ws_client& client, const std::string& room) {
  client.send_json(request("join", room, "j"));
  json answer = client.next_answer();
  ASSERT_EQ(answer, (json{{"type", "ack"}, {"ref", "j"}})) << client.describe() << " joining " << room;
}

void leave(ws_client& client, const std::string& room) {
  client.send_json(request("leave", room, "l"));
  json answer = client.next_answer();
  ASSERT_EQ(answer, (json{{"type", "ack"}, {"ref", "l"}})) << client.describe() << " leaving " << room;
}

void send_room(ws_client& client, const std::string& room, const json& data) {
  json frame = request("room", room, "r");
  frame["data"] = data;
  client.send_json(frame);
  json answer = client.next_answer();
  ASSERT_EQ(answer, (json{{"type", "ack"}, {"ref", "r"}})) << client.describe();
}

// The members, or nullopt when the server answered with an error.
std::optional<std::vector<std::string>> try_presence(ws_client& client, const std::string& room) {
  client.send_json(request("presence", room, "p"));
  json answer = client.next_answer();
  if (answer.value("type", "") != "presence") return std::nullopt;
  std::vector<std::string> members = answer.value("members", std::vector<std::string>{});
  std::sort(members.begin(), members.end());
  return members;
}

std::vector<std::string> presence(ws_client& client, const std::string& room) {
  client.send_json(request("presence", room, "p"));
  json answer = client.next_answer();
  EXPECT_EQ(answer.value("type", ""), "presence") << answer.dump();
  EXPECT_EQ(answer.value("room", ""), room) << answer.dump();
  EXPECT_EQ(answer["ref"], "p") << answer.dump();
  std::vector<std::string> members = answer.value("members", std::vector<std::string>{});
  std::sort(members.begin(), members.end());
  return members;
}

std::vector<std::string> ids_of(std::initializer_list<const ws_client*> clients) {
  std::vector<std::string> ids;
  for (const auto* c : clients) ids.push_back(c->id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

void expect_room_message(ws_client& client, const ws_client& from, const std::string& room, const json& data) {
  json frame = client.next_of_type("message");
  EXPECT_EQ(frame.value("scope", ""), "room") << frame.dump();
  EXPECT_EQ(frame.value("room", ""), room) << frame.dump();
  EXPECT_EQ(frame.value("from", ""), from.id()) << frame.dump();
  EXPECT_EQ(frame["data"], data) << frame.dump();
}

// "[a, b]" from redis_process::command into its elements.
std::set<std::string> parse_list(std::string text) {
  std::set<std::string> out;
  if (text.size() < 2 || text.front() != '[') return out;
  text = text.substr(1, text.size() - 2);
  std::size_t at = 0;
  while (!text.empty() && at <= text.size()) {
    auto comma = text.find(", ", at);
    out.insert(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 2;
  }
  return out;
}

TEST_F(cluster_test, room_messages_reach_members_on_both_workers_and_nobody_else) {
  start_server();
  ws_client m0 = connect_on(0);
  ws_client m1 = connect_on(1);
  ws_client outsider0 = connect_on(0);
  ws_client outsider1 = connect_on(1);

  join(m0, "lobby");
  join(m1, "lobby");
  EXPECT_EQ(presence(outsider1, "lobby"), ids_of({&m0, &m1}));

  // A non-member can send to the room; members get it, the sender does not.
  send_room(outsider0, "lobby", json{{"n", 1}});
  expect_room_message(m0, outsider0, "lobby", json{{"n", 1}});
  expect_room_message(m1, outsider0, "lobby", json{{"n", 1}});
  expect_quiet(loop_, {&m0, &m1, &outsider0, &outsider1});

  // After leaving, m1 gets nothing more, and presence says so.
  leave(m1, "lobby");
  EXPECT_EQ(presence(m0, "lobby"), ids_of({&m0}));
  send_room(m1, "lobby", "after");
  expect_room_message(m0, m1, "lobby", "after");
  expect_quiet(loop_, {&m0, &m1, &outsider0, &outsider1});
}

TEST_F(cluster_test, joining_twice_and_leaving_a_room_one_is_not_in_are_harmless) {
  start_server();
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  join(a, "twice");
  join(a, "twice");
  leave(b, "never-joined");
  EXPECT_EQ(presence(b, "twice"), ids_of({&a}));
  send_room(b, "twice", 1);
  expect_room_message(a, b, "twice", 1);
  expect_quiet(loop_, {&a, &b});  // exactly one copy
}

TEST_F(cluster_test, a_disconnect_leaves_every_room) {
  start_server();
  ws_client watcher = connect_on(0);
  {
    ws_client leaver = connect_on(1);
    join(leaver, "r1");
    join(leaver, "r2");
    EXPECT_EQ(presence(watcher, "r1"), ids_of({&leaver}));
  }
  // Closed by going out of scope; its worker cleans up asynchronously.
  bool gone = loop_.run_until(
      [&] { return redis().command({"EXISTS", "sb:room-workers:{r1}", "sb:room-workers:{r2}"}) == "0"; }, 10s);
  EXPECT_TRUE(gone) << "presence still lists the disconnected client";
  EXPECT_TRUE(presence(watcher, "r1").empty());
  EXPECT_TRUE(presence(watcher, "r2").empty());
  EXPECT_EQ(parse_list(redis().command({"PUBSUB", "CHANNELS", "sb:room:*"})), std::set<std::string>{});
}

TEST_F(cluster_test, a_message_sent_right_after_the_join_ack_reaches_the_new_member) {
  start_server();
  ws_client sender = connect_on(0);
  ws_client member = connect_on(1);
  // Fresh rooms each time: each join makes the worker subscribe anew, which
  // is where a premature ack would lose the message.
  for (int i = 0; i < 60; ++i) {
    std::string room = "race-" + std::to_string(i);
    join(member, room);
    send_room(sender, room, i);
    expect_room_message(member, sender, room, i);
    leave(member, room);
  }
}

TEST_F(cluster_test, subscriptions_follow_membership_through_churn) {
  start_server();
  std::vector<ws_client> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(connect());
  std::vector<std::set<std::string>> joined(clients.size());
  std::mt19937 random(42);
  constexpr int rooms = 200;
  constexpr int operations = 1000;

  for (int op = 0; op < operations; ++op) {
    std::size_t who = random() % clients.size();
    std::string room = "c" + std::to_string(random() % rooms);
    bool do_join = joined[who].size() < 40 && (joined[who].empty() || random() % 3 != 0);
    if (do_join) {
      clients[who].send_json(request("join", room, op));
      joined[who].insert(room);
    } else {
      auto victim = std::next(joined[who].begin(), static_cast<long>(random() % joined[who].size()));
      clients[who].send_json(request("leave", *victim, op));
      joined[who].erase(victim);
    }
    // Every now and then a client disconnects and is replaced.
    if (op % 97 == 96) {
      std::size_t gone = random() % clients.size();
      clients[gone] = connect();
      joined[gone].clear();
    }
  }
  // Let every client's requests be answered.
  for (auto& client : clients) {
    client.send_json({{"type", "ping"}, {"ref", "done"}});
    bool done = loop_.run_until(
        [&] {
          for (auto& frame : client.take_all()) {
            if (frame.value("type", "") == "error") ADD_FAILURE() << client.describe() << ": " << frame.dump();
            if (frame.value("type", "") == "pong") return true;
          }
          return false;
        },
        20s);
    ASSERT_TRUE(done) << client.describe() << " did not finish its requests";
  }

  std::set<std::string> expected;
  for (const auto& rooms_of_client : joined)
    for (const auto& room : rooms_of_client) expected.insert("sb:room:{" + room + "}");
  // Closed clients' rooms are left asynchronously: poll until it settles.
  std::set<std::string> held;
  loop_.run_until(
      [&] {
        held = parse_list(redis().command({"PUBSUB", "CHANNELS", "sb:room:*"}));
        return held == expected;
      },
      10s);
  EXPECT_EQ(held, expected);
  // Presence agrees with the bookkeeping, room by room.
  for (const auto& channel : expected) {
    std::string room = channel.substr(std::string("sb:room:{").size(), channel.size() - std::string("sb:room:{}").size());
    std::vector<std::string> want;
    for (std::size_t i = 0; i < clients.size(); ++i)
      if (joined[i].contains(room)) want.push_back(clients[i].id());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(presence(clients[0], room), want) << "room " << room;
  }
}

TEST_F(cluster_test, bad_room_names_and_too_many_rooms_are_refused) {
  start_server({.extra_flags = {"--max-rooms-per-connection", "3"}});
  ws_client a = connect();
  const std::vector<json> bad_rooms = {"", std::string(129, 'x'), "tab\there", std::string("nul\0x", 5), "del\u007f",
                                       "c1\u0085", 42, nullptr, json::array()};
  for (const auto& room : bad_rooms) {
    for (const char* type : {"join", "leave", "room", "presence"}) {
      json frame = {{"type", type}, {"room", room}, {"ref", 9}, {"data", 1}};
      a.send_json(frame);
      json answer = a.next_answer();
      EXPECT_EQ(answer.value("type", ""), "error") << frame.dump() << " -> " << answer.dump();
      EXPECT_EQ(answer.value("code", ""), "bad_request") << frame.dump() << " -> " << answer.dump();
      EXPECT_EQ(answer["ref"], 9) << answer.dump();
    }
  }
  join(a, std::string(128, 'y'));  // the longest name is fine
  join(a, "caf\u00e9 \u2713");     // and so is non-ASCII text
  join(a, "third");
  a.send_json(request("join", "fourth", 10));
  json answer = a.next_answer();
  EXPECT_EQ(answer.value("code", ""), "too_many_rooms") << answer.dump();
  EXPECT_EQ(answer["ref"], 10);
  // Nothing was done: the connection is not in the fourth room.
  EXPECT_TRUE(presence(a, "fourth").empty());
  join(a, "third");  // rejoining one it is in still works at the limit
  leave(a, "third");
  join(a, "fourth");
}

// Polls presence of `room` through `asker` until it equals `want`.
bool wait_presence(test_loop& loop, ws_client& asker, const std::string& room, const std::vector<std::string>& want,
                   std::chrono::milliseconds timeout, std::chrono::milliseconds* took = nullptr) {
  const auto started = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - started < timeout) {
    if (try_presence(asker, room) == want) {
      if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      return true;
    }
    loop.run_for(50ms);
  }
  return false;
}

TEST_F(cluster_test, members_of_a_killed_worker_vanish_from_presence) {
  start_server({.extra_flags = {"--liveness-seconds", "1"}});
  ws_client on0 = connect_on(0);
  ws_client on1 = connect_on(1);
  join(on0, "k");
  join(on1, "k");
  ASSERT_EQ(presence(on0, "k"), ids_of({&on0, &on1}));

  auto workers = server().worker_pids();
  ASSERT_EQ(workers.size(), 2u);
  ::kill(workers[0], SIGKILL);
  // Whichever client the dead worker held is closed; the other asks.
  ASSERT_TRUE(loop_.run_until([&] { return !on0.is_open() || !on1.is_open(); }, 10s));
  ws_client& survivor = on0.is_open() ? on0 : on1;

  std::chrono::milliseconds took{};
  EXPECT_TRUE(wait_presence(loop_, survivor, "k", ids_of({&survivor}), 10s, &took));
  std::cout << "members of a SIGKILLed worker left presence after " << took.count() << " ms\n";
  // The sweep removes what the dead worker left in Redis.
  EXPECT_TRUE(loop_.run_until([&] { return redis().command({"SCARD", "sb:room-workers:{k}"}) == "1"; }, 10s));
}

TEST_F(cluster_test, two_nodes_form_one_cluster_for_every_scope) {
  start_server({.node = "node-a"});
  node_process second(switchboard_binary, redis(), {.node = "node-b"});
  ws_client a(loop_);
  a.connect(server().ws_url());
  ws_client b(loop_);
  b.connect(second.ws_url());
  EXPECT_EQ(a.node(), "node-a");
  EXPECT_EQ(b.node(), "node-b");

  join(a, "both");
  join(b, "both");
  EXPECT_EQ(presence(a, "both"), ids_of({&a, &b}));
  send_room(a, "both", "room across nodes");
  expect_room_message(b, a, "both", "room across nodes");
  expect_room_message(a, a, "both", "room across nodes");

  b.send_json({{"type", "direct"}, {"to", a.id()}, {"data", "direct across nodes"}, {"ref", 1}});
  EXPECT_EQ(b.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  json direct = a.next_of_type("message");
  EXPECT_EQ(direct.value("scope", ""), "direct");
  EXPECT_EQ(direct["data"], "direct across nodes");

  a.send_json({{"type", "broadcast"}, {"data", "broadcast across nodes"}});
  EXPECT_EQ(b.next_of_type("message")["data"], "broadcast across nodes");
  EXPECT_EQ(a.next_of_type("message")["data"], "broadcast across nodes");
  expect_quiet(loop_, {&a, &b});
}

TEST_F(cluster_test, members_of_a_killed_node_vanish_from_presence) {
  start_server({.node = "node-a", .extra_flags = {"--liveness-seconds", "1"}});
  std::optional<node_process> doomed_node;
  doomed_node.emplace(switchboard_binary, redis(), node_options{.node = "node-b", .extra_flags = {"--liveness-seconds", "1"}});
  ws_client a(loop_);
  a.connect(server().ws_url());
  ws_client b1(loop_);
  b1.connect(doomed_node->ws_url());
  ws_client b2(loop_);
  b2.connect(doomed_node->ws_url());
  join(a, "n");
  join(b1, "n");
  join(b2, "n");
  ASSERT_EQ(presence(a, "n"), ids_of({&a, &b1, &b2}));

  // The whole node at once, workers included, with no chance to clean up.
  auto pids = doomed_node->worker_pids();
  pids.push_back(doomed_node->pid());
  for (pid_t pid : pids) ::kill(pid, SIGKILL);

  std::chrono::milliseconds took{};
  EXPECT_TRUE(wait_presence(loop_, a, "n", ids_of({&a}), 10s, &took));
  std::cout << "members of a SIGKILLed node left presence after " << took.count() << " ms\n";
  doomed_node.reset();
}

TEST_F(cluster_test, rooms_survive_a_redis_restart) {
  start_server();
  ws_client m0 = connect_on(0);
  ws_client m1 = connect_on(1);
  join(m0, "durable");
  join(m1, "durable");

  redis().stop();
  redis().start();
  // Membership is local truth: the workers resubscribe and write presence again.
  ASSERT_TRUE(wait_presence(loop_, m0, "durable", ids_of({&m0, &m1}), 15s));
  bool delivered = false;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!delivered && std::chrono::steady_clock::now() < deadline) {
    m0.send_json({{"type", "room"}, {"room", "durable"}, {"data", "back"}, {"ref", "x"}});
    json answer = m0.next_answer();
    if (answer.value("type", "") == "ack") {
      delivered = true;
      expect_room_message(m1, m0, "durable", "back");
      expect_room_message(m0, m0, "durable", "back");
    } else {
      EXPECT_EQ(answer.value("code", ""), "unavailable") << answer.dump();
      loop_.run_for(50ms);
    }
  }
  EXPECT_TRUE(delivered) << "room messages did not come back after the Redis restart";
}

}  // namespace
}  // namespace switchboard::testing
