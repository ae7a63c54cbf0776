#pragma once
// The fixture of the integration tests: a private redis-server, the real
// switchboard binary against it (two workers), and the one test_loop that
// serves the test's clients. Helpers shared by several test files live here.

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/http_get.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/test_loop.hpp"
#include "tests/support/ws_client.hpp"

namespace switchboard::testing {

inline const std::string switchboard_binary = SWITCHBOARD_BINARY;

class cluster_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SERVER();
    redis_.emplace();
  }

  node_process& start_server(node_options options = {}) {
    server_.emplace(switchboard_binary, *redis_, std::move(options));
    return *server_;
  }

  redis_process& redis() { return *redis_; }
  node_process& server() { return *server_; }

  // A client on whichever worker the kernel picks.
  ws_client connect(connect_options options = {}) {
    ws_client client(loop_);
    client.connect(server_->ws_url(), options);
    return client;
  }
  ws_client connect_on(int worker, connect_options options = {}) {
    return connect_on_worker(loop_, server_->ws_url(), worker, options);
  }

  // Declared first so that it outlives every client, the test's included.
  test_loop loop_;
  std::optional<redis_process> redis_;
  std::optional<node_process> server_;
};

// Serves every client for a while, then expects none of them got anything.
inline void expect_quiet(test_loop& loop, std::initializer_list<ws_client*> clients,
                         std::chrono::milliseconds settle = std::chrono::milliseconds(300)) {
  loop.run_for(settle);
  for (ws_client* client : clients) {
    auto frames = client->take_all();
    for (const auto& frame : frames) ADD_FAILURE() << client->describe() << " got an unexpected frame: " << frame.dump();
  }
}

// Polls /healthz until it answers `status` `times` in a row (each request may
// land on another worker); false if that does not happen within `timeout`.
inline bool wait_health(std::uint16_t port, unsigned status, int times, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int streak = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    streak = http_get(port, "/healthz", std::chrono::seconds(1)).status == status ? streak + 1 : 0;
    if (streak == times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace switchboard::testing
