#pragma once
// A Redis Sentinel deployment for tests, all on loopback: a primary, one
// replica of it, and three sentinels (quorum 2) watching them under one
// master name. Everything is killed and reaped when the object goes away.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_process.hpp"

namespace switchboard::testing {

struct sentinel_options {
  // How long a primary must be silent before a sentinel takes it for down
  // (Sentinel's down-after-milliseconds).
  std::chrono::milliseconds down_after{1000};
};

class sentinel_servers {
 public:
  static constexpr const char* master_name = "sbmaster";

  // Starts the primary, the replica (and waits for its sync), the three
  // sentinels, and waits until every sentinel knows the replica and the
  // other two sentinels, so that a failover can start at once.
  explicit sentinel_servers(sentinel_options options = {});

  // True when redis-server and redis-sentinel are both on PATH.
  static bool available();

  // The two data servers: [0] was the primary at the start, [1] its replica.
  redis_process& server(int i) { return *servers_[static_cast<std::size_t>(i)]; }
  redis_process& sentinel(int i) { return *sentinels_[static_cast<std::size_t>(i)]; }
  int sentinel_count() const { return static_cast<int>(sentinels_.size()); }

  // "sentinel://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>/sbmaster".
  std::string url() const;
  // The port the sentinel `i` names as the primary now; 0 when it does not answer.
  std::uint16_t primary_port(int i = 0) const;
  // The data server that sentinel 0 names as the primary.
  redis_process& primary();
  // Waits until every sentinel names the server on `port`; false at `timeout`.
  bool wait_primary(std::uint16_t port, std::chrono::milliseconds timeout);

 private:
  bool settled() const;

  std::vector<std::unique_ptr<redis_process>> servers_;
  std::vector<std::unique_ptr<redis_process>> sentinels_;
};

}  // namespace switchboard::testing

// Skips the current test when redis-server or redis-sentinel is missing, or
// fails it when CI=true.
#define SWITCHBOARD_REQUIRE_REDIS_SENTINEL()                                              \
  do {                                                                                    \
    if (!::switchboard::testing::sentinel_servers::available()) {                         \
      if (::switchboard::testing::in_ci())                                                \
        GTEST_FAIL() << "redis-server and redis-sentinel are required when CI=true";     \
      GTEST_SKIP() << "redis-server or redis-sentinel is not on PATH";                    \
    }                                                                                     \
  } while (false)
