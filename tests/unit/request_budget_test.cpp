// The per-connection request budget: a burst at once, then the sustained
// rate; refusals run into debt, and a whole burst of debt means closing.
#include "common/request_budget.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace switchboard {
namespace {

constexpr std::int64_t second = 1'000'000'000;
constexpr std::int64_t start = 1000 * second;  // any monotonic reading

TEST(request_budget, a_burst_passes_at_once_then_requests_are_refused) {
  auto rate = request_rate::of(10, 5);
  request_budget budget;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(budget.take(start, rate), budget_verdict::allowed) << i;
  EXPECT_EQ(budget.take(start, rate), budget_verdict::refused);
}

TEST(request_budget, the_rate_refills_it) {
  auto rate = request_rate::of(10, 5);
  request_budget budget;
  for (int i = 0; i < 5; ++i) budget.take(start, rate);
  // A tenth of a second buys one request at 10 per second.
  EXPECT_EQ(budget.take(start + second / 10, rate), budget_verdict::allowed);
  EXPECT_EQ(budget.take(start + second / 10, rate), budget_verdict::refused);
}

TEST(request_budget, a_client_at_the_sustained_rate_is_never_refused) {
  auto rate = request_rate::of(100, 1);
  request_budget budget;
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(budget.take(start + i * (second / 100), rate), budget_verdict::allowed) << i;
}

TEST(request_budget, refusing_a_whole_burst_more_means_closing) {
  auto rate = request_rate::of(10, 5);
  request_budget budget;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(budget.take(start, rate), budget_verdict::allowed);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(budget.take(start, rate), budget_verdict::refused) << i;
  EXPECT_EQ(budget.take(start, rate), budget_verdict::exhausted);
  // Exhausted is not charged: the verdict stays until time passes.
  EXPECT_EQ(budget.take(start, rate), budget_verdict::exhausted);
}

TEST(request_budget, refusals_are_debt_paid_back_by_waiting) {
  auto rate = request_rate::of(10, 5);
  request_budget budget;
  for (int i = 0; i < 8; ++i) budget.take(start, rate);  // 5 allowed, 3 refused
  // The 3 refused cost as much as allowed ones: the next request is allowed
  // once 4 intervals have passed, not 1.
  EXPECT_EQ(budget.take(start + 3 * second / 10, rate), budget_verdict::refused);
  EXPECT_EQ(budget.take(start + 10 * second, rate), budget_verdict::allowed);
}

TEST(request_budget, a_long_pause_refills_no_more_than_the_burst) {
  auto rate = request_rate::of(10, 3);
  request_budget budget;
  auto later = start + 3600 * second;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(budget.take(later, rate), budget_verdict::allowed);
  EXPECT_EQ(budget.take(later, rate), budget_verdict::refused);
}

TEST(request_budget, rate_zero_is_no_limit) {
  auto rate = request_rate::of(0, 1);
  EXPECT_TRUE(rate.unlimited());
  request_budget budget;
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(budget.take(start, rate), budget_verdict::allowed);
}

TEST(request_budget, extreme_settings_stay_limits) {
  // Above a billion per second the interval would round to zero: it stays one nanosecond.
  auto fast = request_rate::of(4'000'000'000ull, 1);
  EXPECT_FALSE(fast.unlimited());
  EXPECT_EQ(fast.interval_ns, 1);
  auto huge_burst = request_rate::of(1, 1ull << 40);
  EXPECT_GT(huge_burst.burst_ns, 0) << "no overflow";
}

}  // namespace
}  // namespace switchboard
