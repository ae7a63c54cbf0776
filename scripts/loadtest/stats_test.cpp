#include "scripts/loadtest/stats.hpp"

#include <gtest/gtest.h>

namespace switchboard::load {
namespace {

stats sample(std::uint64_t scale) {
  stats s;
  s.c.opened = 10 * scale;
  s.c.sent = 3 * scale;
  s.c.window_delivered = 7 * scale;
  s.c.expected = 8 * scale;
  bump(s.errors, "rate_limited");
  bump(s.failures, "connect.connection_refused");
  ++s.close_codes[1008];
  for (std::uint64_t i = 1; i <= scale * 100; ++i) s.latency.record(static_cast<std::int64_t>(i * 1000));
  s.connect_begin = 100 + static_cast<nanos>(scale);
  s.connect_end = 1000 * static_cast<nanos>(scale);
  s.cpu = 5;
  return s;
}

TEST(Stats, EncodeDecodeRoundTrips) {
  stats s = sample(3);
  auto back = decode_stats(encode(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(encode(*back), encode(s));
  EXPECT_EQ(back->c.expected, 24u);
  EXPECT_EQ(back->errors.at("rate_limited"), 1u);
  EXPECT_EQ(back->close_codes.at(1008), 1u);
  EXPECT_EQ(back->latency.percentile(99), s.latency.percentile(99));
  EXPECT_EQ(back->latency.max(), s.latency.max());
}

TEST(Stats, MergeAddsCountsAndWidensTheConnectSpan) {
  stats a = sample(1), b = sample(2);
  a.merge(b);
  EXPECT_EQ(a.c.opened, 30u);
  EXPECT_EQ(a.errors.at("rate_limited"), 2u);
  EXPECT_EQ(a.failures.at("connect.connection_refused"), 2u);
  EXPECT_EQ(a.close_codes.at(1008), 2u);
  EXPECT_EQ(a.latency.count(), 300u);
  EXPECT_EQ(a.connect_begin, 101);
  EXPECT_EQ(a.connect_end, 2000);
  EXPECT_EQ(a.cpu, 10);
}

TEST(Stats, KeysAreSanitisedToSurviveEncoding) {
  tally t;
  bump(t, "bad code,with:separators");
  bump(t, "");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.count("bad_code_with_separators"), 1u);
  EXPECT_EQ(t.count("unknown"), 1u);
}

TEST(Stats, DecodeRefusesGarbage) {
  EXPECT_FALSE(decode_stats("sent=abc"));
  EXPECT_FALSE(decode_stats("nonsense=1"));
  EXPECT_FALSE(decode_counters("sent"));
  // Buckets that do not add up to the count would make percentiles lie.
  EXPECT_FALSE(decode_histogram("2/1/1/2/64:1"));
  EXPECT_FALSE(decode_histogram("1/1/1/1/99999:1"));
  EXPECT_TRUE(decode_histogram("0/0/0/0/"));
}

}  // namespace
}  // namespace switchboard::load
