#pragma once
// Node-wide counters. Each worker slot has one `worker_metrics` in a shared
// memory region made by the master before it forks; the worker of the slot
// is its only writer (relaxed atomic stores), and whichever worker answers
// GET /metrics reads every slot. A restarted worker adds to its slot, so
// counters never go backwards.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/auth/refusal.hpp"
#include "common/protocol/frames.hpp"
#include "common/protocol/error.hpp"
#include "common/protocol/request.hpp"
#include "common/protocol/stream_position.hpp"
#include "common/redis/pool_counters.hpp"

namespace switchboard::metrics {

using value = std::atomic<std::uint64_t>;
static_assert(value::is_always_lock_free, "counters must be lock-free to live in shared memory");

inline void add(value& v, std::uint64_t n = 1) { v.fetch_add(n, std::memory_order_relaxed); }
inline void sub(value& v, std::uint64_t n = 1) { v.fetch_sub(n, std::memory_order_relaxed); }
inline void set(value& v, std::uint64_t n) { v.store(n, std::memory_order_relaxed); }
inline std::uint64_t get(const value& v) { return v.load(std::memory_order_relaxed); }

// The to_string of E's first N enumerators, in order, then `more`. Label
// arrays follow their enums, and a counter array sized by one has a slot
// for every enumerator: error.cpp and request.cpp check at compile time
// that each count matches its enum.
template <typename E, std::size_t N, typename... More>
constexpr std::array<std::string_view, N + sizeof...(More)> labels_of(More... more) {
  std::array<std::string_view, N + sizeof...(More)> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = to_string(static_cast<E>(i));
  std::size_t i = N;
  ((out[i++] = more), ...);
  return out;
}

// Client request types, in protocol order, plus frames that parse to no type.
inline constexpr auto request_types =
    labels_of<protocol::request_type, protocol::request_type_count>(std::string_view("invalid"));
inline constexpr auto error_codes = labels_of<protocol::error_kind, protocol::error_kind_count>();
inline constexpr auto scopes = labels_of<protocol::scope, protocol::scope_count>();
inline constexpr auto recovery_outcomes = labels_of<protocol::recovery_outcome, protocol::recovery_outcome_count>();
// Why upgrades (and refreshes) were refused: the token's reasons, then the Origin.
inline constexpr auto auth_failure_reasons =
    labels_of<auth::refusal, auth::refusal_count>(std::string_view("origin_not_allowed"));
inline constexpr std::size_t origin_failure = auth::refusal_count;
// WebSocket close codes counted one by one; anything else is "other".
// 1005: a close frame without a code; 1006: no close frame at all; 4001:
// the token expired.
inline constexpr std::array<int, 11> close_codes{1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 4001};
std::size_t close_code_index(int code);  // close_codes.size() for "other"

// The backend API's routes (route_other: any other path under /api/) and the
// statuses it answers with, counted one by one.
inline constexpr std::array<std::string_view, 6> api_routes{"publish", "presence", "history", "disconnect", "stats",
                                                            "other"};
inline constexpr std::size_t api_route_other = api_routes.size() - 1;
inline constexpr std::array<int, 8> api_statuses{200, 202, 400, 401, 404, 405, 413, 503};
std::size_t api_status_index(int status);  // api_statuses.size() for "other"

// Upper bounds in seconds of the Redis publish latency histogram.
inline constexpr std::array<double, 14> latency_bounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                       0.01,    0.025,  0.05,    0.1,    0.25,   0.5,    1.0};

struct histogram {
  std::array<value, latency_bounds.size() + 1> buckets{};  // the last is +Inf
  value count{};
  value sum_ns{};
  void observe_ns(std::uint64_t ns);
};

// A short text that one worker writes and any worker reads (the address of
// the Redis primary): words in shared memory behind a sequence number that
// is odd while a write is under way, so a reader never takes half of one
// value and half of another.
struct shared_text {
  static constexpr std::size_t capacity = 63;  // bytes; longer text is cut
  value sequence{};
  std::array<value, (capacity + 1) / 8> words{};
  void store(std::string_view text);
  // Empty when a write never finished (its worker died in the middle).
  std::string load() const;
};

struct worker_metrics {
  value connections_open{};
  value connections_accepted{};
  std::array<value, close_codes.size() + 1> closes{};
  std::array<value, request_types.size()> received{};
  std::array<value, scopes.size()> deliveries{};
  std::array<value, error_codes.size()> errors{};
  value bytes_received{};
  value bytes_sent{};
  value frames_sent{};   // WebSocket frames handed to client sockets
  value socket_sends{};  // sends that carried them to the kernel
  value slow_consumer_closes{};
  value rate_limit_closes{};
  std::array<value, auth_failure_reasons.size()> auth_failures{};  // upgrades (401, 403) and refreshes
  value queued_bytes{};
  histogram publish_latency{};
  std::array<std::array<value, api_statuses.size() + 1>, api_routes.size()> api_requests{};
  histogram api_publish_latency{};  // POST /api/publish, from request read to answer
  value history_appends{};  // messages stored in a room's history
  std::array<value, recovery_outcomes.size()> recoveries{};  // joins with since, by outcome
  value history_replayed{};  // stored messages sent to recovering joins
  value redis_reconnects{};
  value redis_failovers{};  // moves of the primary the worker followed (Sentinel)
  shared_text redis_primary{};  // "host:port" of the server the control connection is on
  value subscriptions{};
  value shard_subscribers{};  // Redis Cluster: subscriber connections holding channels
  value probe_failures{};
  value healthy{};  // 1 while /healthz would answer 200
  value restarts{};  // written by the master
  redis::pool_counters pool{};  // the worker's Redis command pool
};

// Zeroes the gauges of a slot whose worker died: what it had open died with
// it. Counters are left alone, so they stay monotonic across the restart.
void reset_gauges(worker_metrics& m);

// An anonymous shared mapping holding one worker_metrics per slot.
class region {
 public:
  explicit region(std::size_t slots);
  ~region();
  region(const region&) = delete;
  region& operator=(const region&) = delete;

  std::size_t size() const { return slots_; }
  worker_metrics& slot(std::size_t i) { return base_[i]; }
  const worker_metrics& slot(std::size_t i) const { return base_[i]; }

 private:
  std::size_t slots_;
  worker_metrics* base_;
};

// Prometheus text exposition (format 0.0.4) of every slot, labelled with
// `node` and `worker`.
std::string render(const region& r, std::string_view node);

}  // namespace switchboard::metrics
