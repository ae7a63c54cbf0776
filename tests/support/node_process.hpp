#pragma once
// One switchboard node run by a test: the real binary on a free loopback port,
// talking to a redis_process, with its log in a temporary directory. Several
// nodes may share one Redis and one channel prefix, and may start in any
// order: readiness looks only at this node's own workers. The node is stopped
// and reaped (workers included) when the object goes away, and its log tail
// is printed when the test failed.

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
  int workers = 2;
  std::string channel_prefix = "sb:";
  // Short, so that stopping a node with clients still open stays quick.
  int drain_seconds = 3;
  std::string node = "test-node";          // --node: what every welcome on this node says
  std::vector<std::string> extra_flags{};  // e.g. {"--send-queue-bytes", "1MiB"}
  // --redis when it is not the redis_process's own URL (a Sentinel group
  // whose primary the redis_process is at the start).
  std::string redis_url{};
};

class node_process {
 public:
  // Starts `binary` and waits until it is ready (see wait_ready); throws
  // std::runtime_error with the log tail when it does not come up.
  node_process(std::string binary, const redis_process& redis, node_options options = {});
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  const std::string& name() const { return options_.node; }
  std::uint16_t port() const { return port_; }
  // "127.0.0.1:<port>", as a load balancer's configuration names the node.
  std::string address() const;
  // "ws://127.0.0.1:<port>/ws", to reach the node without a balancer.
  std::string ws_url() const;
  // The master's pid; -1 when it is not running.
  pid_t pid() const;
  bool running() const;
  // The master's live (not zombie) children, sorted.
  std::vector<pid_t> worker_pids() const;
  // The worker holding the server side of the loopback connection whose
  // client end has `client_port`; -1 if there is none.
  pid_t worker_serving(std::uint16_t client_port) const;
  std::filesystem::path log_path() const { return dir_ / "node.log"; }
  std::string log_tail(std::size_t bytes = 4000) const;

  // Starts the node again on port() (after stop() or an exit); waits until ready.
  void start();
  // SIGTERM to the master, SIGKILL after `grace`; returns the wait status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // Sends `sig` to the master.
  void signal(int sig);
  // The master's wait status if it exits within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Returns once /healthz answers 200 and each of this node's workers holds
  // a subscribed connection to Redis (healthz alone is answered by whichever
  // worker the kernel picks, so it cannot show that all of them are ready).
  // Workers of other nodes on the same Redis do not count.
  void wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // How many of this node's workers Redis lists with a subscription.
  int subscribed_workers() const;

 private:
  void launch();

  std::string binary_;
  const redis_process& redis_;
  node_options options_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::optional<child_process> master_;
};

}  // namespace switchboard::testing
