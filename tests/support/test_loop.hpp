#pragma once
// The one io_context of a test. Every ws_client of the test lives on it, so
// pumping it while waiting for one client serves all of them and none backs up.

#include <chrono>
#include <functional>

#include "common/net.hpp"

namespace switchboard::testing {

class test_loop {
 public:
  test_loop() : work_(ioc_.get_executor()) {}
  test_loop(const test_loop&) = delete;
  test_loop& operator=(const test_loop&) = delete;

  asio::io_context& context() { return ioc_; }

  // Runs handlers until `done()` holds or `timeout` has passed; returns done().
  // `done` is checked at least every few milliseconds, so it may also watch
  // things outside the loop (a process, a file).
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // Serves every client for `duration` (to see that nothing arrives).
  void run_for(std::chrono::milliseconds duration);

 private:
  asio::io_context ioc_{1};
  // Keeps run_one_until() waiting for work instead of returning at once.
  asio::executor_work_guard<asio::io_context::executor_type> work_;
};

}  // namespace switchboard::testing
