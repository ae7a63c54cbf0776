#pragma once
// A private redis-server for tests: runs on a free loopback port in its own
// temporary directory, and is killed and reaped when the object goes away.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace switchboard::testing {

// True when the environment variable CI is "true": a missing tool then fails
// the test instead of skipping it, so CI cannot pass by testing nothing.
bool in_ci();

// A loopback TCP port that was free a moment ago (bind port 0, read it back, close).
std::uint16_t free_tcp_port();

struct redis_options {
  bool unix_socket = false;  // also listen on <temp dir>/redis.sock
  // Persist with an append-only file, fsynced on every write, so that a
  // restart (same directory) comes back with every acknowledged write.
  bool append_only = false;
  // More arguments for redis-server, e.g. {"--replicaof", "127.0.0.1 6380"}.
  std::vector<std::string> extra_args{};
  // Non-empty: run redis-sentinel instead, with these lines (after its port
  // and bind) in a configuration file of its own, which Sentinel rewrites
  // as it learns and keeps across restarts.
  std::vector<std::string> sentinel_config{};
};

class redis_process {
 public:
  // Reserves a port and starts the server; throws std::runtime_error if it does not answer PING in time.
  explicit redis_process(redis_options options = {});
  // Kills and reaps the server; keeps the temp dir (and the log) when the current test failed.
  ~redis_process();
  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;

  // The path of the redis-server (or another program of that name) that PATH finds, or nullopt.
  static std::optional<std::string> find_server(const std::string& program = "redis-server");

  // The TCP port, fixed for the object's lifetime so restarts reuse it.
  std::uint16_t port() const { return port_; }
  // "redis://127.0.0.1:<port>".
  std::string url() const;
  // The unix socket path, empty unless redis_options::unix_socket was set.
  const std::string& unix_path() const { return unix_path_; }
  // Where the server's stdout and stderr go.
  std::filesystem::path log_path() const { return dir_ / "redis.log"; }
  // True between start() and stop().
  bool running() const { return pid_ > 0; }

  // Starts the server on port(); throws if it is running already or does not come up.
  void start();
  // SIGTERM, SIGKILL if it lingers, then reaps it; a no-op when not running.
  void stop();
  // SIGKILL, then reaps it: a crash, nothing flushed; a no-op when not running.
  void kill();
  // SIGSTOP: the server keeps its sockets but answers nothing.
  void pause();
  // SIGCONT after pause().
  void resume();

  // Runs one command on a fresh synchronous connection and returns the reply
  // as text: strings and statuses as is, integers in decimal, nil as "(nil)",
  // errors as "(error) <text>", arrays as "[a, b]". Throws when unreachable.
  std::string command(const std::vector<std::string>& args) const;

 private:
  void wait_until_ready();
  // The argument vector of the next start.
  std::vector<std::string> arguments() const;

  redis_options options_;
  std::string server_;
  std::filesystem::path dir_;
  std::string unix_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace switchboard::testing

// Skips the current test when redis-server is not on PATH, or fails it when
// CI=true. Use it first thing in a test body or in SetUp().
#define SWITCHBOARD_REQUIRE_REDIS_SERVER()                                   \
  do {                                                                       \
    if (!::switchboard::testing::redis_process::find_server()) {             \
      if (::switchboard::testing::in_ci())                                   \
        GTEST_FAIL() << "redis-server is not on PATH (required when CI=true)"; \
      GTEST_SKIP() << "redis-server is not on PATH";                         \
    }                                                                        \
  } while (false)
