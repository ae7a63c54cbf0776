// History and recovery (PROTOCOL.md, "History and recovery"), against the
// real binary with 2 workers and a real redis-server: a member that drops
// off and comes back with `since`, again and again while messages flow,
// gets every message exactly once and in order, through a killed worker and
// a rolling restart too; `recovered:false` whenever history cannot give
// that (another epoch, a position no longer kept, a Redis restarted without
// persistence) and recovery across a Redis restart with AOF; a user's
// direct messages while it is away; history requests; and rooms without
// history left exactly as they were.
#include <gtest/gtest.h>

#include <csignal>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/auth_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A member of one room that keeps its place (offset, epoch) as the client
// library does, and comes back with `since` after every disconnect. Every
// message must come with the offset after the last one: none missed, none
// twice.
class recovering_member {
 public:
  recovering_member(test_loop& loop, std::function<ws_client()> connect, std::string room)
      : loop_(loop), connect_(std::move(connect)), room_(std::move(room)) {
    join();
  }

  // Drops the connection (as a lost network does) and comes back.
  void reconnect() {
    take();
    client_.reset();
    join();
    ++reconnects;
  }
  // Comes back if the server closed it (a killed worker, a restart).
  void reconnect_if_closed() {
    if (client_ && client_->is_open()) return;
    take();
    client_.reset();
    join();
    ++reconnects;
  }
  bool is_open() const { return client_ && client_->is_open(); }
  // The client end's port, to find the worker that serves it.
  std::uint16_t local_port() const { return client_->local_port(); }

  // Reads the room's messages that have arrived.
  void take() {
    if (!client_) return;
    for (auto& frame : client_->take_all()) {
      auto type = frame.value("type", "");
      if (type == "message") {
        EXPECT_EQ(frame["offset"].get<std::uint64_t>(), offset_ + 1) << "after " << offset_ << ": " << frame.dump();
        offset_ = frame["offset"].get<std::uint64_t>();
        data.push_back(frame["data"].get<int>());
      } else if (type == "error") {
        ADD_FAILURE() << "error: " << frame.dump();
      }
    }
  }

  std::vector<int> data;
  int reconnects = 0;

 private:
  // Joins, with since after the first time, and reads the ack: nothing of
  // the room comes before it.
  void join() {
    json ack;
    // During a rolling restart the new connection may land on a worker
    // that is itself about to be drained: then it comes back again.
    for (int attempt = 0;; ++attempt) {
      client_.emplace(connect_());
      json join{{"type", "join"}, {"room", room_}, {"ref", "join"}};
      if (!epoch_.empty()) join["since"] = {{"offset", offset_}, {"epoch", epoch_}};
      client_->send_json(join);
      if (attempt == 5) {
        ack = client_->next_answer();
        break;
      }
      if (auto answer = client_->next_answer_unless_closed()) {
        ack = std::move(*answer);
        break;
      }
    }
    ASSERT_EQ(ack.value("type", ""), "ack") << ack.dump();
    ASSERT_TRUE(ack.contains("epoch")) << ack.dump();
    if (epoch_.empty()) {
      offset_ = ack["offset"].get<std::uint64_t>();
    } else {
      EXPECT_TRUE(ack["recovered"].get<bool>()) << "not recovered: " << ack.dump();
      EXPECT_EQ(ack["epoch"], epoch_);
    }
    epoch_ = ack["epoch"].get<std::string>();
  }

  test_loop& loop_;
  std::function<ws_client()> connect_;
  std::string room_;
  std::optional<ws_client> client_;
  std::uint64_t offset_ = 0;
  std::string epoch_;
};

// Sends numbered room messages one at a time, each only after the last was
// acknowledged, and sends one again when it was refused (unavailable): so
// the numbers the room carries are 1, 2, 3, ... whatever happens meanwhile.
class numbered_sender {
 public:
  numbered_sender(ws_client& client, std::string room) : client_(client), room_(std::move(room)) {}

  void send_next() {
    for (;;) {
      client_.send_json({{"type", "room"}, {"room", room_}, {"data", next_}, {"ref", next_}});
      auto answer = client_.next_answer();
      if (answer.value("type", "") == "ack") break;
      ASSERT_EQ(answer.value("code", ""), "unavailable") << answer.dump();
      ++refused;
    }
    ++next_;
  }
  int sent() const { return next_ - 1; }
  int refused = 0;

 private:
  ws_client& client_;
  std::string room_;
  int next_ = 1;
};

void expect_every_number_once(const std::vector<int>& data, int last) {
  ASSERT_EQ(static_cast<int>(data.size()), last) << "got " << data.size() << " of " << last;
  for (int i = 0; i < last; ++i) {
    if (data[i] != i + 1) {
      ADD_FAILURE() << "message " << i << " carries " << data[i];
      return;
    }
  }
}

class history_test : public auth_test {
 protected:
  void start_with_history(std::vector<std::string> more = {}) {
    // 500 messages a second from one client: past the default request budget.
    std::vector<std::string> flags{"--history-rooms", "chat:*,user:*", "--history-size", "5000", "--client-rate", "0"};
    flags.insert(flags.end(), more.begin(), more.end());
    start_server({.extra_flags = flags});
  }

  // Serves the loop until `member` has `count` messages.
  void wait_for(recovering_member& member, int count) {
    const auto deadline = clock::now() + 20s;
    while (static_cast<int>(member.data.size()) < count && clock::now() < deadline) {
      loop_.run_for(20ms);
      member.reconnect_if_closed();
      member.take();
    }
  }

  // Joins `room` on a fresh connection and returns the ack.
  json join(ws_client& client, const std::string& room, json since = nullptr) {
    json request{{"type", "join"}, {"room", room}, {"ref", "j"}};
    if (!since.is_null()) request["since"] = since;
    client.send_json(request);
    return client.next_answer();
  }

  // switchboard_recoveries_total{outcome} summed over the node's workers.
  double recoveries(std::string_view outcome) {
    auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
    std::string label = "outcome=\"" + std::string(outcome) + "\"";
    double total = 0;
    for (int w = 0; w < 2; ++w) total += metrics.value("switchboard_recoveries_total", "test-node", w, label);
    return total;
  }

  void publish(ws_client& client, const std::string& room, int n) {
    for (int i = 1; i <= n; ++i) {
      client.send_json({{"type", "room"}, {"room", room}, {"data", i}, {"ref", i}});
      ASSERT_EQ(client.next_answer().value("type", ""), "ack");
    }
  }
};

TEST_F(history_test, a_member_that_keeps_coming_back_misses_nothing_and_gets_nothing_twice) {
  start_with_history();
  auto sender_client = connect_on(0);
  numbered_sender sender(sender_client, "chat:flow");
  recovering_member member(loop_, [this] { return connect_on(1); }, "chat:flow");
  loop_.run_for(200ms);
  member.take();

  // 2,000 messages at about 500/s; 20 reconnects at random moments.
  std::mt19937 random(7);
  std::set<int> reconnect_at;
  while (reconnect_at.size() < 20) reconnect_at.insert(std::uniform_int_distribution<int>(1, 1990)(random));
  const auto started = clock::now();
  for (int i = 1; i <= 2000; ++i) {
    sender.send_next();
    if (reconnect_at.count(i)) member.reconnect();
    // Paced: message i leaves no earlier than i * 2 ms after the start.
    auto due = started + std::chrono::milliseconds(2 * i);
    if (clock::now() < due) loop_.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(due - clock::now()));
    member.take();
  }
  wait_for(member, 2000);
  expect_every_number_once(member.data, sender.sent());
  EXPECT_EQ(member.reconnects, 20);
  EXPECT_EQ(sender.refused, 0);
  EXPECT_EQ(recoveries("recovered"), 20);
}

TEST_F(history_test, a_member_whose_worker_is_killed_recovers_on_another) {
  start_with_history();
  // The sender's node is not the one whose worker dies.
  node_process sender_node(switchboard_binary, redis(),
                           {.workers = 1, .node = "sender", .extra_flags = {"--history-rooms", "chat:*", "--client-rate", "0"}});
  ws_client sender_client(loop_);
  sender_client.connect(sender_node.ws_url());
  numbered_sender sender(sender_client, "chat:kill");
  recovering_member member(loop_, [this] { return connect(); }, "chat:kill");
  for (int i = 1; i <= 600; ++i) {
    sender.send_next();
    if (i == 200 || i == 400) {
      member.take();
      pid_t worker = server().worker_serving(member.local_port());
      ASSERT_GT(worker, 0);
      ::kill(worker, SIGKILL);
    }
    loop_.run_for(1ms);
    member.reconnect_if_closed();
    member.take();
  }
  wait_for(member, 600);
  expect_every_number_once(member.data, sender.sent());
  EXPECT_GE(member.reconnects, 1);
}

TEST_F(history_test, a_rolling_restart_loses_nothing_for_members_that_come_back) {
  start_with_history();
  node_process sender_node(switchboard_binary, redis(),
                           {.workers = 1, .node = "sender", .extra_flags = {"--history-rooms", "chat:*", "--client-rate", "0"}});
  ws_client sender_client(loop_);
  sender_client.connect(sender_node.ws_url());
  numbered_sender sender(sender_client, "chat:restart");
  std::vector<std::unique_ptr<recovering_member>> members;
  for (int i = 0; i < 4; ++i)
    members.push_back(std::make_unique<recovering_member>(loop_, [this] { return connect(); }, "chat:restart"));
  auto before = server().worker_pids();
  for (int i = 1; i <= 800; ++i) {
    sender.send_next();
    if (i == 200) server().signal(SIGHUP);
    loop_.run_for(2ms);
    for (auto& m : members) {
      m->reconnect_if_closed();
      m->take();
    }
  }
  for (auto& m : members) {
    wait_for(*m, 800);
    expect_every_number_once(m->data, sender.sent());
  }
  int reconnects = 0;
  for (auto& m : members) reconnects += m->reconnects;
  EXPECT_GT(reconnects, 0) << "the restart closed nobody";
  for (auto pid : server().worker_pids())
    EXPECT_EQ(std::count(before.begin(), before.end(), pid), 0) << "worker " << pid << " was not replaced";
}

TEST_F(history_test, recovery_is_refused_for_another_epoch_and_for_a_position_no_longer_kept) {
  start_server({.extra_flags = {"--history-rooms", "chat:*", "--history-size", "5"}});
  auto sender = connect();
  publish(sender, "chat:old", 10);  // keeps 6..10
  auto member = connect();
  auto now = join(member, "chat:old");
  EXPECT_EQ(now["offset"], 10);
  EXPECT_EQ(now["recovered"], false) << "a join without since recovers nothing";
  std::string epoch = now["epoch"];
  auto late = connect();
  auto too_old = join(late, "chat:old", {{"offset", 4}, {"epoch", epoch}});
  EXPECT_EQ(too_old["recovered"], false);
  EXPECT_EQ(too_old["offset"], 10);
  auto other = connect();
  auto foreign = join(other, "chat:old", {{"offset", 9}, {"epoch", "0000000000000000"}});
  EXPECT_EQ(foreign["recovered"], false);
  EXPECT_EQ(foreign["epoch"], epoch);
  // Not recovered: what comes after the join, nothing before.
  publish(sender, "chat:old", 1);
  for (auto* c : {&member, &late, &other}) {
    auto message = c->next_of_type("message");
    EXPECT_EQ(message["offset"], 11);
    EXPECT_EQ(message["epoch"], epoch);
  }
  auto edge = connect();
  auto kept = join(edge, "chat:old", {{"offset", 6}, {"epoch", epoch}});  // 7..11 are kept
  EXPECT_EQ(kept["recovered"], true);
  for (int offset = 7; offset <= 11; ++offset) EXPECT_EQ(edge.next_of_type("message")["offset"], offset);
  expect_quiet(loop_, {&member, &late, &other, &edge});
  EXPECT_EQ(recoveries("too_old"), 1);
  EXPECT_EQ(recoveries("epoch_changed"), 1);
}

TEST_F(history_test, a_redis_restart_without_persistence_changes_the_epoch) {
  start_with_history();
  auto sender = connect();
  auto member = connect();
  auto before = join(member, "chat:lost");
  publish(sender, "chat:lost", 3);
  redis().stop();
  redis().start();
  ASSERT_TRUE(wait_health(server().port(), 200, 4, 20s)) << server().log_tail();
  auto back = connect();
  auto after = join(back, "chat:lost", {{"offset", 3}, {"epoch", before["epoch"]}});
  EXPECT_EQ(after["recovered"], false) << "the history is gone: never a silent gap";
  EXPECT_NE(after["epoch"], before["epoch"]);
  EXPECT_EQ(after["offset"], 0);
}

TEST_F(history_test, a_redis_restart_with_aof_keeps_history_and_epoch) {
  redis_.reset();
  redis_.emplace(redis_options{.append_only = true});
  start_with_history();
  auto sender = connect();
  auto member = connect();
  auto before = join(member, "chat:kept");
  publish(sender, "chat:kept", 3);
  redis().stop();
  redis().start();
  ASSERT_TRUE(wait_health(server().port(), 200, 4, 20s)) << server().log_tail();
  auto back = connect();
  auto after = join(back, "chat:kept", {{"offset", 1}, {"epoch", before["epoch"]}});
  EXPECT_EQ(after["recovered"], true) << after.dump();
  EXPECT_EQ(after["epoch"], before["epoch"]);
  EXPECT_EQ(back.next_of_type("message")["data"], 2);
  EXPECT_EQ(back.next_of_type("message")["data"], 3);
}

TEST_F(history_test, a_user_away_for_three_seconds_gets_its_direct_messages_on_return) {
  start_with_auth({"--history-rooms", "user:*"});
  auto bob = connect_granted("bob", json::object());
  std::string epoch;
  std::uint64_t offset = 0;
  {
    auto alice = connect_granted("alice", json::object());
    auto ack = join(alice, "user:alice");
    ASSERT_TRUE(ack.contains("epoch")) << ack.dump();
    epoch = ack["epoch"];
    offset = ack["offset"];
  }
  for (int i = 1; i <= 3; ++i) {
    bob.send_json({{"type", "direct"}, {"user", "alice"}, {"data", i}, {"ref", i}});
    ASSERT_EQ(bob.next_answer().value("type", ""), "ack");
  }
  std::this_thread::sleep_for(3s);
  auto alice = connect_granted("alice", json::object());
  // Sent after the welcome but before the join: it comes after the missed
  // ones, once.
  bob.send_json({{"type", "direct"}, {"user", "alice"}, {"data", 4}, {"ref", 4}});
  ASSERT_EQ(bob.next_answer().value("type", ""), "ack");
  auto ack = join(alice, "user:alice", {{"offset", offset}, {"epoch", epoch}});
  EXPECT_EQ(ack["recovered"], true) << ack.dump();
  for (int i = 1; i <= 4; ++i) {
    auto message = alice.next_of_type("message");
    EXPECT_EQ(message["data"], i);
    EXPECT_EQ(message["scope"], "user");
    EXPECT_EQ(message["from_user"], "bob");
  }
  expect_quiet(loop_, {&alice});
}

TEST_F(history_test, a_personal_room_held_since_the_welcome_is_released_by_any_other_first_request) {
  start_with_auth({"--history-rooms", "user:*"});
  auto bob = connect_granted("bob", json::object());
  auto alice = connect_granted("alice", json::object());
  bob.send_json({{"type", "direct"}, {"user", "alice"}, {"data", 1}, {"ref", 1}});
  ASSERT_EQ(bob.next_answer().value("type", ""), "ack");
  loop_.run_for(100ms);
  alice.send_json({{"type", "ping"}, {"ref", "p"}});
  EXPECT_EQ(alice.next()["data"], 1) << "what was held goes out before the first answer";
  EXPECT_EQ(alice.next()["type"], "pong");
}

TEST_F(history_test, history_requests_page_through_what_is_kept_within_the_join_permission) {
  start_with_auth({"--history-rooms", "chat:*", "--history-size", "4"});
  auto sender = connect_granted("ann", {{"rooms", {"chat:*"}}, {"publish", {"chat:*"}}});
  publish(sender, "chat:h", 6);  // keeps 3..6
  auto reader = connect_granted("rob", {{"rooms", {"chat:*", "lobby"}}});
  reader.send_json({{"type", "history"}, {"room", "chat:h"}, {"limit", 2}, {"ref", 1}});
  auto newest = reader.next_answer();
  ASSERT_EQ(newest["type"], "history") << newest.dump();
  EXPECT_EQ(newest["ref"], 1);
  EXPECT_EQ(newest["offset"], 6);
  ASSERT_EQ(newest["messages"].size(), 2u);
  EXPECT_EQ(newest["messages"][0]["offset"], 5);
  EXPECT_EQ(newest["messages"][1]["data"], 6);
  EXPECT_EQ(newest["messages"][1]["from_user"], "ann");
  std::string epoch = newest["epoch"];
  reader.send_json({{"type", "history"}, {"room", "chat:h"}, {"since", {{"offset", 0}, {"epoch", epoch}}}, {"ref", 2}});
  auto all = reader.next_answer();
  ASSERT_EQ(all["messages"].size(), 4u) << "everything kept after 0";
  EXPECT_EQ(all["messages"][0]["offset"], 3);
  reader.send_json({{"type", "history"}, {"room", "chat:h"}, {"since", {{"offset", 4}, {"epoch", epoch}}},
                    {"limit", 1}, {"ref", 3}});
  auto page = reader.next_answer();
  ASSERT_EQ(page["messages"].size(), 1u);
  EXPECT_EQ(page["messages"][0]["offset"], 5);

  auto outsider = connect_granted("eve", {{"rooms", {"other:*"}}});
  outsider.send_json({{"type", "history"}, {"room", "chat:h"}, {"ref", 4}});
  EXPECT_EQ(outsider.next_answer()["code"], "forbidden");
  outsider.send_json({{"type", "history"}, {"room", "user:ann"}, {"ref", 5}});
  EXPECT_EQ(outsider.next_answer()["code"], "forbidden") << "another user's personal room";
  reader.send_json({{"type", "history"}, {"room", "lobby"}, {"ref", 6}});
  auto none = reader.next_answer();
  EXPECT_EQ(none["code"], "bad_request");
  EXPECT_EQ(none["message"], "this room keeps no history");
}

TEST_F(history_test, rooms_without_history_store_nothing_and_carry_no_offset) {
  start_with_history();
  auto sender = connect();
  auto member = connect();
  auto ack = join(member, "lobby");
  EXPECT_EQ(ack, json::parse(R"({"type":"ack","ref":"j"})"));
  publish(sender, "lobby", 1);
  auto message = member.next_of_type("message");
  EXPECT_FALSE(message.contains("offset"));
  EXPECT_FALSE(message.contains("epoch"));
  sender.send_json({{"type", "broadcast"}, {"data", 1}, {"ref", "b"}});
  EXPECT_FALSE(member.next_of_type("message").contains("offset"));
  EXPECT_EQ(redis().command({"KEYS", "sb:history*"}), "[]");
}

}  // namespace
}  // namespace switchboard::testing
