#pragma once
// A Redis Cluster for tests, all on loopback: three primaries, each with one
// replica, made with `redis-cli --cluster create --cluster-replicas 1`.
// Every node is killed and reaped when the object goes away.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/redis_process.hpp"

namespace switchboard::testing {

class cluster_servers {
 public:
  // How long a primary must be silent before the others fail it over
  // (cluster-node-timeout).
  static constexpr std::chrono::milliseconds node_timeout{1000};

  // Starts six nodes, joins them, and waits until every node sees every
  // slot served (cluster_state:ok) and each primary has its replica.
  cluster_servers();

  // True when redis-server and redis-cli are both on PATH.
  static bool available();

  int size() const { return static_cast<int>(nodes_.size()); }
  redis_process& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  // "cluster://127.0.0.1:<p0>,127.0.0.1:<p1>,127.0.0.1:<p2>" (the first three nodes).
  std::string url() const;

  // The nodes that are primaries now and answer, in port order.
  std::vector<redis_process*> primaries();
  // The primary that serves `slot` now; nullptr when none answers for it.
  redis_process* owner(std::uint16_t slot);
  // Waits until every running node reports cluster_state:ok and all agree
  // on who serves each slot; false at `timeout`.
  bool wait_healthy(std::chrono::milliseconds timeout);
  // Runs redis-cli with `args` (after its path) and waits for it; true when
  // it exits with status 0. Its output goes to `log` in a node's directory.
  bool run_cli(const std::vector<std::string>& args, const std::string& log);

 private:
  // Primary address -> the slot ranges it serves, as `node` sees it; a
  // primary flagged fail is left out.
  using view = std::map<std::string, std::vector<std::pair<int, int>>>;
  static view primary_view(const redis_process& node);

  std::vector<std::unique_ptr<redis_process>> nodes_;
};

}  // namespace switchboard::testing

// Skips the current test when redis-server or redis-cli is missing, or
// fails it when CI=true.
#define SWITCHBOARD_REQUIRE_REDIS_CLUSTER()                                          \
  do {                                                                               \
    if (!::switchboard::testing::cluster_servers::available()) {                     \
      if (::switchboard::testing::in_ci())                                           \
        GTEST_FAIL() << "redis-server and redis-cli are required when CI=true";     \
      GTEST_SKIP() << "redis-server or redis-cli is not on PATH";                    \
    }                                                                                \
  } while (false)
