#include "common/metrics.hpp"
#include "tests/support/exposition.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string_view>
#include <vector>

namespace switchboard::metrics {
namespace {

// The strict reader shared with the integration tests; any rule broken fails.
std::map<std::string, double> parse_exposition(const std::string& text) {
  auto parsed = testing::parse_exposition(text);
  for (const auto& problem : parsed.problems) ADD_FAILURE() << problem;
  return parsed.series;
}

// Dashboards select on these exact strings.
TEST(metrics, labels_are_the_protocol_names_in_enum_order) {
  using names = std::vector<std::string_view>;
  EXPECT_EQ(names(request_types.begin(), request_types.end()),
            (names{"broadcast", "direct", "join", "leave", "room", "presence", "ping", "refresh", "history", "invalid"}));
  EXPECT_EQ(names(scopes.begin(), scopes.end()), (names{"broadcast", "direct", "room", "user", "member"}));
  EXPECT_EQ(names(recovery_outcomes.begin(), recovery_outcomes.end()), (names{"recovered", "epoch_changed", "too_old"}));
  EXPECT_EQ(names(error_codes.begin(), error_codes.end()),
            (names{"bad_json", "bad_request", "unknown_type", "unsupported", "too_many_rooms", "rate_limited",
                   "unavailable", "forbidden"}));
  EXPECT_EQ(names(auth_failure_reasons.begin(), auth_failure_reasons.end()),
            (names{"missing", "too_large", "malformed", "bad_signature", "unsupported_alg", "expired",
                   "not_yet_valid", "bad_issuer", "bad_audience", "bad_subject", "origin_not_allowed"}));
  for (std::size_t i = 0; i < protocol::request_type_count; ++i)
    EXPECT_EQ(request_types[i], protocol::to_string(static_cast<protocol::request_type>(i)));
  for (std::size_t i = 0; i < protocol::error_kind_count; ++i)
    EXPECT_EQ(error_codes[i], protocol::to_string(static_cast<protocol::error_kind>(i)));
  for (std::size_t i = 0; i < protocol::scope_count; ++i)
    EXPECT_EQ(scopes[i], protocol::to_string(static_cast<protocol::scope>(i)));
  // to_string(scope) is not constexpr, so this is checked here and not by
  // the compiler: a scope past scope_count would have no counter.
  EXPECT_EQ(protocol::to_string(static_cast<protocol::scope>(protocol::scope_count)), "unknown");
}

TEST(metrics, close_codes_map_to_their_bucket_or_other) {
  EXPECT_EQ(close_codes[close_code_index(1001)], 1001);
  EXPECT_EQ(close_codes[close_code_index(1008)], 1008);
  EXPECT_EQ(close_codes[close_code_index(4001)], 4001);
  EXPECT_EQ(close_code_index(4000), close_codes.size());
  EXPECT_EQ(close_code_index(0), close_codes.size());
}

TEST(metrics, histogram_puts_observations_in_the_first_bucket_that_holds_them) {
  histogram h;
  h.observe_ns(10'000);         // 10 us: the first bucket (50 us)
  h.observe_ns(50'000);         // exactly on a bound: that bucket
  h.observe_ns(3'000'000);      // 3 ms: the 5 ms bucket
  h.observe_ns(5'000'000'000);  // 5 s: +Inf
  EXPECT_EQ(get(h.buckets[0]), 2u);
  EXPECT_EQ(get(h.buckets[6]), 1u);
  EXPECT_EQ(get(h.buckets.back()), 1u);
  EXPECT_EQ(get(h.count), 4u);
  EXPECT_EQ(get(h.sum_ns), 5'003'060'000u);
}

TEST(metrics, render_is_valid_exposition_with_a_series_per_worker) {
  region r(2);
  add(r.slot(0).connections_accepted, 3);
  add(r.slot(1).connections_accepted, 5);
  add(r.slot(1).received[1], 7);
  add(r.slot(0).closes[close_code_index(1001)], 2);
  r.slot(1).publish_latency.observe_ns(200'000);
  auto series = parse_exposition(render(r, "node \"a\"\\b"));
  const std::string node = R"(node="node \"a\"\\b")";
  EXPECT_EQ(series.at("switchboard_connections_accepted_total{" + node + ",worker=\"0\"}"), 3);
  EXPECT_EQ(series.at("switchboard_connections_accepted_total{" + node + ",worker=\"1\"}"), 5);
  EXPECT_EQ(series.at("switchboard_messages_received_total{" + node + ",worker=\"1\",type=\"direct\"}"), 7);
  EXPECT_EQ(series.at("switchboard_closes_total{" + node + ",worker=\"0\",code=\"1001\"}"), 2);
  EXPECT_EQ(series.at("switchboard_closes_total{" + node + ",worker=\"0\",code=\"other\"}"), 0);
  // Histogram buckets are cumulative and end in +Inf == count.
  EXPECT_EQ(series.at("switchboard_redis_publish_duration_seconds_bucket{" + node + ",worker=\"1\",le=\"0.0001\"}"), 0);
  EXPECT_EQ(series.at("switchboard_redis_publish_duration_seconds_bucket{" + node + ",worker=\"1\",le=\"0.00025\"}"), 1);
  EXPECT_EQ(series.at("switchboard_redis_publish_duration_seconds_bucket{" + node + ",worker=\"1\",le=\"+Inf\"}"), 1);
  EXPECT_EQ(series.at("switchboard_redis_publish_duration_seconds_count{" + node + ",worker=\"1\"}"), 1);
  EXPECT_DOUBLE_EQ(series.at("switchboard_redis_publish_duration_seconds_sum{" + node + ",worker=\"1\"}"), 0.0002);
}

TEST(metrics, every_metric_has_help_and_type_once) {
  region r(3);
  std::string text = render(r, "n");
  std::map<std::string, int> helps, types;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) == 0) ++helps[line.substr(7, line.find(' ', 7) - 7)];
    if (line.rfind("# TYPE ", 0) == 0) ++types[line.substr(7, line.find(' ', 7) - 7)];
  }
  EXPECT_FALSE(helps.empty());
  for (const auto& [name, count] : helps) {
    EXPECT_EQ(count, 1) << name;
    EXPECT_EQ(types[name], 1) << name;
    // Prometheus conventions: counters end in _total, durations are in seconds.
    if (text.find("# TYPE " + name + " counter") != std::string::npos) {
      EXPECT_TRUE(name.ends_with("_total")) << name;
    }
  }
}

TEST(metrics, a_forked_child_writes_what_the_parent_reads) {
  region r(2);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    add(r.slot(1).bytes_sent, 1234);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(get(r.slot(1).bytes_sent), 1234u);
  EXPECT_EQ(get(r.slot(0).bytes_sent), 0u);
}

TEST(metrics, reset_gauges_zeroes_gauges_and_keeps_counters) {
  region r(1);
  auto& m = r.slot(0);
  add(m.connections_open, 4);
  add(m.queued_bytes, 100);
  set(m.healthy, 1);
  set(m.subscriptions, 3);
  m.pool.in_use.store(2);
  m.pool.connects.store(5);
  add(m.connections_accepted, 9);
  reset_gauges(m);
  EXPECT_EQ(get(m.connections_open), 0u);
  EXPECT_EQ(get(m.queued_bytes), 0u);
  EXPECT_EQ(get(m.healthy), 0u);
  EXPECT_EQ(get(m.subscriptions), 0u);
  EXPECT_EQ(m.pool.in_use.load(), 0u);
  EXPECT_EQ(m.pool.connects.load(), 5u);
  EXPECT_EQ(get(m.connections_accepted), 9u);
}

TEST(metrics, pool_counts_are_exported) {
  region r(1);
  r.slot(0).pool.all.store(3);
  r.slot(0).pool.acquire_timeouts.store(2);
  auto series = parse_exposition(render(r, "n"));
  EXPECT_EQ(series.at(R"(switchboard_redis_pool_connections{node="n",worker="0"})"), 3);
  EXPECT_EQ(series.at(R"(switchboard_redis_pool_acquire_timeouts_total{node="n",worker="0"})"), 2);
  EXPECT_EQ(series.at(R"(switchboard_redis_pool_waiting{node="n",worker="0"})"), 0);
}

}  // namespace
}  // namespace switchboard::metrics
