#pragma once
// A load balancer run by a test in front of switchboard nodes: HAProxy or
// nginx with the configuration the project ships in deploy/, not a copy
// written for the test. HAProxy reads its addresses from the environment, so
// it runs the shipped file as is; nginx's file is a template, rendered the
// way its header says (envsubst with the SB_ variables). Everything listens
// on loopback ports chosen here; pid, logs and the rendered file live in a
// temporary directory, kept when the test failed. The balancer and all its
// processes are stopped and reaped when the object goes away.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/redis_process.hpp"

namespace switchboard::testing {

enum class proxy_kind { haproxy, nginx };

// A file the project ships under deploy/, e.g. "haproxy/haproxy.cfg".
std::filesystem::path deploy_file(std::string_view relative);

// "haproxy" or "nginx": the program, and the name used in messages.
std::string_view program_name(proxy_kind kind);

// The path of `name` on PATH, or in /usr/sbin or /sbin (where Debian puts
// haproxy and nginx, outside a plain user's PATH); nullopt if it is nowhere.
std::optional<std::string> find_program(std::string_view name);

// Replaces every "${NAME}" whose NAME is among `variables`, and nothing
// else, as `envsubst '${NAME} ...'` does; nginx's own $variables stay.
std::string render_template(std::string_view text, const std::vector<std::pair<std::string, std::string>>& variables);

// What a configuration check (haproxy -c, nginx -t) said.
struct config_check {
  int status = -1;  // the wait status: 0 is a clean exit, i.e. accepted
  std::string output;
};

class proxy_process {
 public:
  // Starts the balancer with `config` in front of `nodes` ("127.0.0.1:<port>"
  // each, in the order of the file's SB_NODE1, SB_NODE2, ...) and returns
  // once GET /healthz through it answers 200. Throws std::runtime_error with
  // the log tail when it does not come up.
  proxy_process(proxy_kind kind, std::filesystem::path config, std::vector<std::string> nodes);
  ~proxy_process();
  proxy_process(const proxy_process&) = delete;
  proxy_process& operator=(const proxy_process&) = delete;

  // Runs the program's own configuration check on `config` with the same
  // variables a started balancer gets; does not start anything.
  static config_check check(proxy_kind kind, const std::filesystem::path& config,
                            const std::vector<std::string>& nodes);

  // Where clients connect.
  std::uint16_t port() const { return port_; }
  // "ws://127.0.0.1:<port>/ws".
  std::string ws_url() const;
  // HAProxy's stats page (SB_STATS); 0 for nginx.
  std::uint16_t stats_port() const { return stats_port_; }
  bool running() const { return process_ && process_->running(); }
  std::filesystem::path log_path() const { return dir_ / "proxy.log"; }
  std::string log_tail(std::size_t bytes = 4000) const;

  // HAProxy's view of server `name` (node1, node2, ...) in the switchboard
  // backend, from the stats page: "UP", "DOWN", "UP 1/2", ...; empty when
  // the page does not say (or for nginx).
  std::string server_status(std::string_view name) const;

  // Stops the balancer (SIGTERM, then SIGKILL) and every process it started.
  void stop();

 private:
  void launch();
  void wait_ready(std::chrono::milliseconds timeout);
  std::vector<pid_t> children() const;

  proxy_kind kind_;
  std::filesystem::path config_;
  std::vector<std::string> nodes_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::uint16_t stats_port_ = 0;
  std::optional<child_process> process_;
};

}  // namespace switchboard::testing

// Skips the current test when `name` (haproxy, nginx) is not installed, or
// fails it when CI=true. Use it first thing in a test body or in SetUp().
#define SWITCHBOARD_REQUIRE_PROGRAM(name)                                              \
  do {                                                                                 \
    if (!::switchboard::testing::find_program(name)) {                                 \
      if (::switchboard::testing::in_ci())                                             \
        GTEST_FAIL() << (name) << " is not installed (required when CI=true)";         \
      GTEST_SKIP() << (name) << " is not installed (scripts/test.sh installs it)";     \
    }                                                                                  \
  } while (false)
