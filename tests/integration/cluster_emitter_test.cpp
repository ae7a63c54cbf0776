// The outside publishers on a Redis Cluster (cluster://): emit::emitter and
// switchboard-publish SPUBLISH to the shard of each channel's slot, and two
// real nodes on the same cluster deliver what they publish. One cluster and
// two nodes (two workers each) serve the whole suite: starting them is most
// of its time.
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/emit/emitter.hpp"
#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/cluster_servers.hpp"
#include "tests/support/http_get.hpp"
#include "tests/support/poll_until.hpp"
#include "tests/support/run_task.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

const std::string publish_binary = SWITCHBOARD_PUBLISH_BINARY;

// A node of two workers on the cluster. node_process waits for its
// workers' subscriptions on one Redis server, and a cluster's sharded ones
// are spread over the primaries: this one waits until /metrics shows every
// worker healthy (subscribed on every shard it needs, probe back).
class cluster_node {
 public:
  cluster_node(const std::string& name, const std::string& redis_url, const std::filesystem::path& dir)
      : port_(free_tcp_port()),
        process_({switchboard_binary, "--bind", "127.0.0.1", "--port", std::to_string(port_), "--workers", "2",
                  "--redis", redis_url, "--node", name, "--drain-seconds", "1"},
                 dir / (name + ".out"), dir / (name + ".log")) {
    bool ready = poll_until(
        [&] {
          std::istringstream lines(http_get(port_, "/metrics", 1s).body);
          int healthy = 0;
          for (std::string line; std::getline(lines, line);)
            if (line.starts_with("switchboard_healthy{") && line.ends_with(" 1")) ++healthy;
          return healthy == 2;
        },
        20s);
    if (!ready) throw std::runtime_error("node " + name + " on the cluster did not become healthy; see " +
                                         (dir / (name + ".log")).string());
  }
  ~cluster_node() { process_.stop(5s); }
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws"; }

 private:
  std::uint16_t port_;
  child_process process_;
};

// Rooms whose channels' slots fall on all three primaries (checked by the
// test that uses them, with PUBSUB SHARDCHANNELS).
std::vector<std::string> spread_rooms() {
  std::vector<std::string> rooms;
  for (int i = 0; i < 12; ++i) rooms.push_back("shard-room-" + std::to_string(i));
  return rooms;
}

class cluster_emitter_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!cluster_servers::available()) return;
    servers_ = std::make_unique<cluster_servers>();
    auto dir = servers_->node(0).log_path().parent_path();
    for (const char* name : {"node-a", "node-b"})
      nodes_.push_back(std::make_unique<cluster_node>(name, servers_->url(), dir));
  }
  static void TearDownTestSuite() {
    nodes_.clear();
    servers_.reset();
  }
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_CLUSTER();
    emitter_.emplace(loop_.context().get_executor(), emit::emitter_options{.redis_url = servers_->url()});
  }
  void TearDown() override {
    if (emitter_) emitter_->close();
    // The slot map's reader ends on its next turn.
    loop_.run_for(50ms);
  }

  cluster_node& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  ws_client connect_to(int node_index, int worker) {
    return connect_on_worker(loop_, node(node_index).ws_url(), worker);
  }
  void join(ws_client& client, const std::string& room) {
    client.send_json({{"type", "join"}, {"room", room}, {"ref", room}});
    ASSERT_EQ(client.next_answer(), (json{{"type", "ack"}, {"ref", room}}));
  }
  // Runs `task` on the test's loop, which serves the clients meanwhile.
  template <typename T>
  T run(asio::awaitable<T> task) {
    auto result = run_task(loop_, std::move(task), 20s);
    if (!result) throw std::runtime_error("the emitter did not answer");
    return *result;
  }

  // Runs switchboard-publish with `args`, `input` on its standard input;
  // serves the test's clients until it exits. Its exit code (-1: it did not
  // exit by itself) and its standard error.
  std::pair<int, std::string> publish(const std::vector<std::string>& args, const std::string& input = {}) {
    auto dir = servers_->node(0).log_path().parent_path();
    auto in = dir / "publish.in";
    std::ofstream(in) << input;
    std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$0\" \"$@\" < '" + in.string() + "'", publish_binary};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process tool(argv, dir / "publish.out", dir / "publish.err");
    int code = -1;
    if (loop_.run_until([&] { return tool.wait_for(0ms).has_value(); }, 20s) && WIFEXITED(*tool.status()))
      code = WEXITSTATUS(*tool.status());
    std::ifstream err(dir / "publish.err");
    std::stringstream text;
    text << err.rdbuf();
    return {code, text.str()};
  }

  static std::unique_ptr<cluster_servers> servers_;
  static std::vector<std::unique_ptr<cluster_node>> nodes_;
  // Declared first so that it outlives every client and the emitter.
  test_loop loop_;
  std::optional<emit::emitter> emitter_;
};

std::unique_ptr<cluster_servers> cluster_emitter_test::servers_;
std::vector<std::unique_ptr<cluster_node>> cluster_emitter_test::nodes_;

json server_message(const std::string& scope, json fields) {
  json out{{"type", "message"}, {"scope", scope}, {"from", "server"}};
  out.update(fields);
  return out;
}

// The next `n` messages of `client`, sorted: messages on channels of
// different shards have no order among them.
std::vector<std::string> messages_of(ws_client& client, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(client.next_of_type("message").dump());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<json> frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.dump());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(cluster_emitter_test, every_scope_reaches_its_recipients_on_both_nodes) {
  ws_client bystander_a = connect_to(0, 0);
  ws_client member_a = connect_to(0, 1);
  ws_client member_b = connect_to(1, 0);
  ws_client other_b = connect_to(1, 1);
  join(member_a, "lobby");
  join(member_b, "lobby");

  EXPECT_FALSE(run(emitter_->to_room("lobby", R"({"text":"hi"})")));
  EXPECT_FALSE(run(emitter_->broadcast("[1,2]")));
  EXPECT_FALSE(run(emitter_->to_connection(other_b.id(), R"("psst")")));
  const json room = server_message("room", {{"room", "lobby"}, {"data", {{"text", "hi"}}}});
  const json everyone = server_message("broadcast", {{"data", {1, 2}}});
  const json direct = server_message("direct", {{"to", other_b.id()}, {"data", "psst"}});
  for (ws_client* member : {&member_a, &member_b})
    EXPECT_EQ(messages_of(*member, 2), sorted({room, everyone})) << member->describe();
  EXPECT_EQ(messages_of(bystander_a, 1), sorted({everyone}));
  EXPECT_EQ(messages_of(other_b, 2), sorted({everyone, direct}));
  expect_quiet(loop_, {&bystander_a, &member_a, &member_b, &other_b});
}

TEST_F(cluster_emitter_test, rooms_on_every_shard_get_their_messages_in_order_one_by_one_and_in_a_batch) {
  ws_client member = connect_to(1, 1);
  const auto rooms = spread_rooms();
  for (const auto& r : rooms) join(member, r);
  int holders = 0;
  for (redis_process* primary : servers_->primaries())
    if (primary->command({"PUBSUB", "SHARDCHANNELS", "sb:room:{shard-room-*}"}).find("shard-room-") != std::string::npos)
      ++holders;
  EXPECT_EQ(holders, 3) << "the rooms' channels are not on all three shards";

  constexpr int one_by_one = 20;
  for (int n = 0; n < one_by_one; ++n)
    for (const auto& r : rooms) ASSERT_FALSE(run(emitter_->to_room(r, std::to_string(n))));
  // One batch over every room: one MULTI/EXEC per run of one channel.
  std::vector<std::string> data{"20", "21", "22"};
  std::vector<emit::message> batch;
  for (const auto& r : rooms)
    for (const auto& d : data) batch.push_back({protocol::scope::room, r, d});
  auto result = run(emitter_->publish_all(batch));
  EXPECT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.published, batch.size());

  std::map<std::string, std::vector<int>> got;
  const std::size_t expected = rooms.size() * (one_by_one + data.size());
  for (std::size_t i = 0; i < expected; ++i) {
    json frame = member.next_of_type("message");
    got[frame["room"].get<std::string>()].push_back(frame["data"].get<int>());
  }
  std::vector<int> in_order(one_by_one + data.size());
  for (std::size_t n = 0; n < in_order.size(); ++n) in_order[n] = static_cast<int>(n);
  for (const auto& r : rooms) EXPECT_EQ(got[r], in_order) << r;
  expect_quiet(loop_, {&member});
}

TEST_F(cluster_emitter_test, a_bad_cluster_url_is_refused_and_an_unreachable_cluster_fails) {
  for (const char* url : {"cluster://", "cluster://host:0", "cluster://host:99999", "cluster://u:secret@host:1/0"}) {
    try {
      emit::emitter bad(loop_.context().get_executor(), {.redis_url = url});
      ADD_FAILURE() << url << " was taken";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
    }
  }
  emit::emitter unreachable(loop_.context().get_executor(),
                            {.redis_url = "cluster://127.0.0.1:" + std::to_string(free_tcp_port())});
  EXPECT_TRUE(run(unreachable.broadcast("1")));
  unreachable.close();
  loop_.run_for(50ms);
}

TEST_F(cluster_emitter_test, switchboard_publish_sends_stdin_to_the_rooms_shard_in_order) {
  ws_client member = connect_to(0, 0);
  join(member, "bulk");
  std::string input;
  for (int n = 0; n < 1500; ++n) input += std::to_string(n) + "\n";
  auto [code, err] = publish({"--redis", servers_->url(), "--room", "bulk"}, input);
  EXPECT_EQ(code, 0) << err;
  for (int n = 0; n < 1500; ++n) ASSERT_EQ(member.next_of_type("message")["data"], n);
  expect_quiet(loop_, {&member});
}

TEST_F(cluster_emitter_test, switchboard_publish_says_what_is_wrong_with_a_cluster_url_or_cluster) {
  auto [bad_code, bad_err] = publish({"--redis", "cluster://u:secret@nowhere:1/0", "--broadcast", "1"});
  EXPECT_EQ(bad_code, 2);
  EXPECT_NE(bad_err.find("--redis"), std::string::npos) << bad_err;
  EXPECT_EQ(bad_err.find("secret"), std::string::npos) << bad_err;

  std::string nobody = "cluster://127.0.0.1:" + std::to_string(free_tcp_port());
  auto [code, err] = publish({"--redis", nobody, "--broadcast", "1"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find(nobody), std::string::npos) << err;
}

}  // namespace
}  // namespace switchboard::testing
