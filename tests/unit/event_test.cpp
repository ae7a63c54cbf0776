// The event that replaces poll loops: waits end when it is set, at once when
// it is set already, and at their deadline otherwise; reset() blocks again.
#include "common/event.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>

#include "common/spawn.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

class event_test : public ::testing::Test {
 protected:
  // Starts a wait with `deadline` from now; the result lands in the slot.
  std::shared_ptr<std::optional<bool>> wait(std::chrono::milliseconds deadline) {
    auto result = std::make_shared<std::optional<bool>>();
    spawn(
        loop_.context().get_executor(),
        [](event& e, clock_type::time_point until, std::shared_ptr<std::optional<bool>> out) -> asio::awaitable<void> {
          *out = co_await e.wait_until(until);
        }(event_, clock_type::now() + deadline, result),
        "test wait");
    return result;
  }

  testing::test_loop loop_;
  event event_{loop_.context().get_executor()};
};

TEST_F(event_test, SetWakesEveryWaiter) {
  auto first = wait(10s);
  auto second = wait(10s);
  loop_.run_for(20ms);
  EXPECT_FALSE(*first);
  event_.set();
  ASSERT_TRUE(loop_.run_until([&] { return first->has_value() && second->has_value(); }, 2s));
  EXPECT_TRUE(**first);
  EXPECT_TRUE(**second);
}

TEST_F(event_test, AWaitWhileSetReturnsAtOnce) {
  event_.set();
  auto result = wait(10s);
  ASSERT_TRUE(loop_.run_until([&] { return result->has_value(); }, 1s));
  EXPECT_TRUE(**result);
}

TEST_F(event_test, TheDeadlineEndsAWait) {
  auto start = clock_type::now();
  auto result = wait(50ms);
  ASSERT_TRUE(loop_.run_until([&] { return result->has_value(); }, 2s));
  EXPECT_FALSE(**result);
  EXPECT_GE(clock_type::now() - start, 50ms);
}

TEST_F(event_test, ResetBlocksLaterWaits) {
  event_.set();
  event_.reset();
  EXPECT_FALSE(event_.is_set());
  auto result = wait(30ms);
  ASSERT_TRUE(loop_.run_until([&] { return result->has_value(); }, 2s));
  EXPECT_FALSE(**result);
}

TEST_F(event_test, SetThenResetBeforeTheWaiterRunsKeepsItWaiting) {
  auto result = wait(10s);
  loop_.run_for(10ms);
  event_.set();
  event_.reset();
  loop_.run_for(30ms);
  EXPECT_FALSE(result->has_value()) << "woken, it finds the flag down and parks again";
  event_.set(true);
  ASSERT_TRUE(loop_.run_until([&] { return result->has_value(); }, 2s));
  EXPECT_TRUE(**result);
}

}  // namespace
}  // namespace switchboard
