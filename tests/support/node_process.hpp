#pragma once
// One node of a multi-node cluster run by a test: the real switchboard binary
// with its own --node name and loopback port, sharing a redis_process and a
// channel prefix with the other nodes. (server_process runs a node alone: its
// readiness check expects every subscriber of the prefix to be its own.) The
// node is stopped and reaped when the object goes away, and its log tail is
// printed when the test failed.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/redis_process.hpp"

namespace switchboard::testing {

struct node_options {
  std::string name = "node";  // --node: what every welcome on this node says
  int workers = 2;
  std::string channel_prefix = "sb:";
  // Short, so that stopping a node with clients still open stays quick.
  int drain_seconds = 3;
  std::vector<std::string> extra_flags{};
};

class node_process {
 public:
  // Starts `binary` on a free loopback port and returns once all of its
  // workers serve: /healthz answers 200 and the prefix's broadcast channel
  // has `workers` more subscribers than before the start. Nodes of one
  // prefix must therefore be started one after the other. Throws
  // std::runtime_error with the log tail when the node does not come up.
  node_process(std::string binary, const redis_process& redis, node_options options);
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  const std::string& name() const { return options_.name; }
  std::uint16_t port() const { return port_; }
  // "127.0.0.1:<port>", as a load balancer's configuration names the node.
  std::string address() const;
  // "ws://127.0.0.1:<port>/ws", to reach the node without the balancer.
  std::string ws_url() const;
  // The master's pid; -1 when it is not running.
  pid_t pid() const;
  bool running() const;
  std::filesystem::path log_path() const { return dir_ / "node.log"; }
  std::string log_tail(std::size_t bytes = 4000) const;

  // Sends `sig` to the master.
  void signal(int sig);
  // The master's wait status if it exits within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM to the master, SIGKILL after `grace`; returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(15));

 private:
  void launch();
  void wait_ready(int baseline, std::chrono::milliseconds timeout);

  std::string binary_;
  const redis_process& redis_;
  node_options options_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::optional<child_process> master_;
};

// The subscribers of `prefix`'s broadcast channel: one per serving worker,
// across all nodes. -1 when Redis does not say.
int broadcast_subscribers(const redis_process& redis, const std::string& prefix);

}  // namespace switchboard::testing
