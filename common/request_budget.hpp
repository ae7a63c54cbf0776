#pragma once
// One connection's request budget (PROTOCOL.md, "Limits"): a token bucket
// of `burst` requests refilled at `per_second`, kept as a single time, the
// moment the bucket would be full again (the generic cell rate algorithm),
// so it costs a session eight bytes and no timer.
//
// A refused request is charged too: a client that keeps sending while
// refused runs into debt, and once it owes a whole burst more it is closed
// (PROTOCOL.md: "a connection that goes on sending while refused"). A
// client that slows down below the rate pays the debt back and is served
// again.

#include <cstdint>

namespace switchboard {

struct request_rate {
  // 0: no limit.
  static request_rate of(std::uint64_t per_second, std::uint64_t burst);

  bool unlimited() const noexcept { return interval_ns == 0; }

  std::int64_t interval_ns = 0;  // the budget refills one request per interval
  std::int64_t burst_ns = 0;     // `burst` intervals: how far ahead the bucket may run
};

enum class budget_verdict : std::uint8_t {
  allowed,
  refused,    // answer rate_limited, do nothing
  exhausted,  // refused a whole burst more than allowed: close the connection
};

class request_budget {
 public:
  // `now_ns`: a monotonic clock, in nanoseconds.
  budget_verdict take(std::int64_t now_ns, const request_rate& rate) noexcept;

 private:
  std::int64_t full_at_ns_ = 0;  // in the past: the bucket is full
};

}  // namespace switchboard
