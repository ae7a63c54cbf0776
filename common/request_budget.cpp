#include "common/request_budget.hpp"

#include <algorithm>
#include <limits>

namespace switchboard {

request_rate request_rate::of(std::uint64_t per_second, std::uint64_t burst) {
  if (per_second == 0) return {};
  // At least a nanosecond: a rate above 1e9/s is no limit worth the name,
  // but it must not read as "unlimited" by rounding to zero.
  auto interval = std::max<std::int64_t>(1, static_cast<std::int64_t>(1'000'000'000 / per_second));
  auto bursts = static_cast<std::int64_t>(std::min<std::uint64_t>(burst, std::numeric_limits<std::int32_t>::max()));
  return {interval, interval * std::max<std::int64_t>(1, bursts)};
}

budget_verdict request_budget::take(std::int64_t now_ns, const request_rate& rate) noexcept {
  if (rate.unlimited()) return budget_verdict::allowed;
  // Where the bucket stands after this request: each request moves the
  // time it is full again one interval later, and time passing catches up.
  std::int64_t after = std::max(full_at_ns_, now_ns) + rate.interval_ns;
  std::int64_t ahead = after - now_ns;
  if (ahead > 2 * rate.burst_ns) return budget_verdict::exhausted;
  full_at_ns_ = after;
  return ahead <= rate.burst_ns ? budget_verdict::allowed : budget_verdict::refused;
}

}  // namespace switchboard
