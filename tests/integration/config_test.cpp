// Start-up: bad flags, --help, and a port that is already taken.

#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

struct run_result {
  int status = -1;  // wait status
  std::string out;
  std::string err;
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the binary to completion; a run that outlives `timeout` fails the
// test (a bad flag must stop start-up, not start a server).
run_result run_switchboard(const std::vector<std::string>& flags, std::chrono::milliseconds timeout = 10s) {
  std::string pattern = ::testing::TempDir() + "switchboard-run-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  const std::filesystem::path dir = pattern;
  std::vector<std::string> argv{switchboard_binary};
  argv.insert(argv.end(), flags.begin(), flags.end());
  run_result result;
  {
    child_process child(argv, dir / "stdout", dir / "stderr");
    auto status = child.wait_for(timeout);
    if (!status) {
      ADD_FAILURE() << "switchboard still running after " << timeout.count() << " ms";
      status = child.stop(1s);
    }
    result.status = *status;
  }
  result.out = slurp(dir / "stdout");
  result.err = slurp(dir / "stderr");
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

int exit_code(const run_result& r) { return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1; }

struct bad_flag_case {
  std::string name;  // for the test name
  std::vector<std::string> flags;
  std::string named;  // what the message must mention
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const bad_flag_case& c, std::ostream* out) { *out << c.name; }

class bad_flag_test : public ::testing::TestWithParam<bad_flag_case> {};

TEST_P(bad_flag_test, exits_with_status_2_naming_the_flag) {
  const auto& c = GetParam();
  // Loopback and a free port: should a bad flag slip through, the node
  // that starts stays private to this machine.
  std::vector<std::string> flags{"--bind", "127.0.0.1"};
  if (c.flags.front() != "--port") flags.insert(flags.end(), {"--port", std::to_string(free_tcp_port())});
  flags.insert(flags.end(), c.flags.begin(), c.flags.end());
  auto r = run_switchboard(flags);
  EXPECT_EQ(exit_code(r), 2) << describe_wait_status(r.status) << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(c.named), std::string::npos) << "stderr does not name " << c.named << ": " << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    config, bad_flag_test,
    ::testing::Values(bad_flag_case{"port_0", {"--port", "0"}, "--port"},
                      bad_flag_case{"workers_0", {"--workers", "0"}, "--workers"},
                      bad_flag_case{"redis_http", {"--redis", "http://x"}, "--redis"},
                      bad_flag_case{"max_message_bytes_lots", {"--max-message-bytes", "lots"}, "--max-message-bytes"},
                      bad_flag_case{"redis_pool_size_0", {"--redis-pool-size", "0"}, "--redis-pool-size"},
                      bad_flag_case{"redis_pool_wait_maybe", {"--redis-pool-wait", "maybe"}, "--redis-pool-wait"},
                      bad_flag_case{"redis_pool_max_waiters_negative", {"--redis-pool-max-waiters", "-1"},
                                    "--redis-pool-max-waiters"},
                      bad_flag_case{"redis_pool_acquire_ms_0", {"--redis-pool-acquire-ms", "0"}, "--redis-pool-acquire-ms"},
                      bad_flag_case{"www_dir_missing", {"--www-dir", "/nonexistent/www"}, "--www-dir"},
                      bad_flag_case{"static_max_bytes_tiny", {"--static-max-bytes", "10"}, "--static-max-bytes"},
                      bad_flag_case{"unknown_flag", {"--no-such-flag"}, "--no-such-flag"}),
    [](const ::testing::TestParamInfo<bad_flag_case>& info) { return info.param.name; });

TEST(config, help_exits_0_and_lists_every_flag) {
  auto r = run_switchboard({"--help"});
  EXPECT_EQ(exit_code(r), 0) << describe_wait_status(r.status) << "\nstderr: " << r.err;
  for (const char* flag : {"--help", "--port", "--bind", "--workers", "--redis", "--node", "--max-message-bytes",
                           "--send-queue-bytes", "--channel-prefix", "--drain-seconds", "--log-level", "--www-dir",
                           "--static-max-bytes", "--redis-pool-size", "--redis-pool-wait", "--redis-pool-max-waiters",
                           "--redis-pool-acquire-ms"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << "--help does not list " << flag << ":\n" << r.out;
}

TEST_F(cluster_test, second_node_on_a_busy_port_exits_with_a_clear_message) {
  start_server();
  const std::string port = std::to_string(server().port());
  auto r = run_switchboard({"--bind", "127.0.0.1", "--port", port, "--workers", "2", "--redis", redis().url()});
  EXPECT_NE(exit_code(r), 0) << describe_wait_status(r.status);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << "stderr: " << r.err;
  EXPECT_NE(r.err.find(port), std::string::npos) << "stderr does not name the port: " << r.err;
  // The first node is untouched: a second one must not join its port.
  EXPECT_EQ(http_get(server().port(), "/healthz").status, 200u);
}

}  // namespace
}  // namespace switchboard::testing
