#include "common/keyed_lanes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard {
namespace {

using namespace std::chrono_literals;

// Enters the key's lane, records the start, holds it across a timer wait,
// records the end.
asio::awaitable<void> hold(keyed_lanes& lanes, std::string key, std::string name, std::chrono::milliseconds for_,
                           std::vector<std::string>& log) {
  auto lane = co_await lanes.enter(key);
  log.push_back(name + "+");
  asio::steady_timer t(co_await asio::this_coro::executor, for_);
  co_await t.async_wait(use_nothrow);
  log.push_back(name + "-");
}

TEST(keyed_lanes, one_key_runs_in_arrival_order_one_at_a_time) {
  asio::io_context ioc;
  keyed_lanes lanes(ioc.get_executor(), 4);
  std::vector<std::string> log;
  // The first holds longest: the later ones must still wait and keep order.
  asio::co_spawn(ioc, hold(lanes, "room", "a", 30ms, log), asio::detached);
  asio::co_spawn(ioc, hold(lanes, "room", "b", 1ms, log), asio::detached);
  asio::co_spawn(ioc, hold(lanes, "room", "c", 1ms, log), asio::detached);
  ioc.run();
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "a-", "b+", "b-", "c+", "c-"}));
}

TEST(keyed_lanes, distinct_lanes_run_side_by_side) {
  asio::io_context ioc;
  keyed_lanes lanes(ioc.get_executor(), 1024);
  // Two keys that hash to different lanes of 1024.
  std::string other = "k1";
  for (int i = 2; std::hash<std::string_view>{}(other) % 1024 == std::hash<std::string_view>{}("k0") % 1024; ++i)
    other = "k" + std::to_string(i);
  std::vector<std::string> log;
  asio::co_spawn(ioc, hold(lanes, "k0", "a", 30ms, log), asio::detached);
  asio::co_spawn(ioc, hold(lanes, other, "b", 1ms, log), asio::detached);
  ioc.run();
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "b+", "b-", "a-"}));
}

TEST(keyed_lanes, a_holder_that_throws_frees_the_lane) {
  asio::io_context ioc;
  keyed_lanes lanes(ioc.get_executor(), 1);
  bool second_ran = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto lane = co_await lanes.enter("x");
        throw std::runtime_error("boom");
      },
      [](std::exception_ptr) {});
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto lane = co_await lanes.enter("y");  // one lane: the same as x's
        second_ran = true;
      },
      asio::detached);
  ioc.run();
  EXPECT_TRUE(second_ran);
}

TEST(keyed_lanes, zero_lanes_means_one) {
  asio::io_context ioc;
  keyed_lanes lanes(ioc.get_executor(), 0);
  std::vector<std::string> log;
  asio::co_spawn(ioc, hold(lanes, "a", "a", 5ms, log), asio::detached);
  asio::co_spawn(ioc, hold(lanes, "b", "b", 1ms, log), asio::detached);
  ioc.run();
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "a-", "b+", "b-"}));
}

}  // namespace
}  // namespace switchboard
