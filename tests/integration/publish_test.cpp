// switchboard-publish, the real binary, against the real server (2 workers):
// usage errors, bad input, an unreachable Redis, and a bulk from standard
// input delivered whole and in order.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/child_process.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

const std::string publish_binary = SWITCHBOARD_PUBLISH_BINARY;

struct outcome {
  int exit_code = -1;  // -1: it did not exit by itself
  std::string out;
  std::string err;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class publish_test : public cluster_test {
 protected:
  void SetUp() override {
    cluster_test::SetUp();
    std::string pattern = ::testing::TempDir() + "switchboard-publish-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Runs switchboard-publish with `args` and `input` on its standard input,
  // through `sh -c` so that `env` (e.g. "REDIS_URL=...") can set its
  // environment; serves the test's clients until it exits.
  outcome run(const std::vector<std::string>& args, const std::string& input = {}, const std::string& env = {}) {
    auto stdin_path = dir_ / "stdin";
    std::ofstream(stdin_path) << input;
    std::vector<std::string> argv{"/bin/sh", "-c", env + " exec \"$0\" \"$@\" < '" + stdin_path.string() + "'",
                                  publish_binary};
    argv.insert(argv.end(), args.begin(), args.end());
    std::filesystem::remove(dir_ / "out");
    std::filesystem::remove(dir_ / "err");
    child_process tool(argv, dir_ / "out", dir_ / "err");
    outcome result;
    if (loop_.run_until([&] { return tool.wait_for(0ms).has_value(); }, 20s) && WIFEXITED(*tool.status()))
      result.exit_code = WEXITSTATUS(*tool.status());
    result.out = read_file(dir_ / "out");
    result.err = read_file(dir_ / "err");
    return result;
  }
  std::vector<std::string> to_redis(std::vector<std::string> args) {
    args.insert(args.begin(), {"--redis", redis().url()});
    return args;
  }
  ws_client member_of(const std::string& room, std::optional<int> worker = std::nullopt) {
    ws_client client = worker ? connect_on(*worker) : connect();
    client.send_json({{"type", "join"}, {"room", room}, {"ref", 1}});
    EXPECT_EQ(client.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
    return client;
  }

  std::filesystem::path dir_;
};

TEST_F(publish_test, help_names_every_flag_and_the_exit_status) {
  auto help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* text : {"Usage: switchboard-publish", "--redis", "REDIS_URL", "--channel-prefix", "--room",
                           "--user", "--broadcast", "--to", "one JSON value per", "Exit status",
                           "POST /api/publish"})
    EXPECT_NE(help.out.find(text), std::string::npos) << text;
}

TEST_F(publish_test, a_bad_command_line_exits_2_saying_what_is_wrong) {
  struct bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const auto& [args, says] : std::vector<bad>{
           {{"1"}, "exactly one of --room, --user, --broadcast, --to"},
           {{"--room", "a", "--broadcast", "1"}, "exactly one of"},
           {{"--room", "", "1"}, "--room \"\": room must be 1 to 128 bytes"},
           {{"--room", std::string(129, 'r'), "1"}, "room must be"},
           {{"--user", "a\nb", "1"}, "--user \"a\\nb\": user must be"},
           {{"--to", "a b", "1"}, "--to \"a b\": connection id must be"},
           {{"--redis", "http://127.0.0.1", "--broadcast", "1"}, "--redis: scheme must be redis:// or unix://"},
           {{"--broadcast", "--unknown", "1"}, "unrecognised option '--unknown'"},
       }) {
    auto result = run(args);
    EXPECT_EQ(result.exit_code, 2) << args.front();
    EXPECT_NE(result.err.find(says), std::string::npos) << result.err;
  }
}

TEST_F(publish_test, one_message_from_the_command_line_reaches_the_room) {
  start_server();
  ws_client member = member_of("news");
  auto result = run(to_redis({"--room", "news", R"({"headline": "hi"})"}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(member.next_of_type("message"),
            (json{{"type", "message"}, {"scope", "room"}, {"from", "server"}, {"room", "news"},
                  {"data", {{"headline", "hi"}}}}));
}

TEST_F(publish_test, bad_json_data_exits_1_and_sends_nothing) {
  start_server();
  ws_client member = member_of("news");
  auto result = run(to_redis({"--room", "news", "{'single': 'quotes'}"}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("data is not one valid JSON value"), std::string::npos) << result.err;
  expect_quiet(loop_, {&member});
}

TEST_F(publish_test, a_bad_line_stops_the_bulk_after_publishing_the_lines_before_it) {
  start_server();
  ws_client member = member_of("news");
  auto result = run(to_redis({"--room", "news"}), "1\n\n2\n{oops\n4\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("line 4: data is not one valid JSON value; the 2 messages before it were published"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(member.next_of_type("message")["data"], 1);
  EXPECT_EQ(member.next_of_type("message")["data"], 2);
  expect_quiet(loop_, {&member});
}

TEST_F(publish_test, an_unreachable_redis_exits_1_naming_it) {
  // A port nobody listens on.
  const std::string url = "redis://127.0.0.1:" + std::to_string(free_tcp_port());
  for (const std::string& input : {std::string(), std::string("1\n")}) {
    std::vector<std::string> args{"--redis", url, "--broadcast"};
    if (input.empty()) args.push_back("1");
    auto result = run(args, input);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find(url + ": Connection refused"), std::string::npos) << result.err;
  }
}

TEST_F(publish_test, a_thousand_lines_from_standard_input_arrive_whole_and_in_order) {
  start_server();
  ws_client near = member_of("bulk", 0);
  ws_client far = member_of("bulk", 1);
  std::string input;
  for (int i = 1; i <= 1000; ++i) input += json{{"n", i}}.dump() + "\n";
  auto result = run(to_redis({"--room", "bulk"}), input);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  for (ws_client* member : {&near, &far}) {
    for (int i = 1; i <= 1000; ++i) {
      json frame = member->next_of_type("message");
      ASSERT_EQ(frame["data"], (json{{"n", i}})) << member->describe();
    }
  }
  expect_quiet(loop_, {&near, &far});
}

TEST_F(publish_test, redis_url_and_the_channel_prefix_reach_a_cluster_on_its_own_prefix) {
  start_server({.channel_prefix = "app7:"});
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  auto result = run({"--channel-prefix", "app7:", "--to", b.id(), "\"psst\""}, {}, "REDIS_URL=" + redis().url());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(b.next_of_type("message"),
            (json{{"type", "message"}, {"scope", "direct"}, {"from", "server"}, {"to", b.id()}, {"data", "psst"}}));
  // The default prefix is another cluster's: nobody here hears it.
  result = run(to_redis({"--broadcast", "1"}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  expect_quiet(loop_, {&a, &b});
}

}  // namespace
}  // namespace switchboard::testing
