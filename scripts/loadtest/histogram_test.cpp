#include "scripts/loadtest/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace switchboard::load {
namespace {

constexpr std::int64_t us = 1000;
constexpr std::int64_t ms = 1000 * us;
constexpr std::int64_t s = 1000 * ms;

// How far a reported value may be from the true one: half a bucket.
double relative_error(std::int64_t reported, std::int64_t truth) {
  return std::abs(static_cast<double>(reported - truth)) / static_cast<double>(truth);
}

TEST(Histogram, EmptyReportsZero) {
  histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0);
  EXPECT_EQ(h.percentile(100), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, BucketsTileTheRangeWithoutGaps) {
  // Every bucket starts where the previous one ends.
  for (std::size_t i = 1; i < histogram::bucket_count; ++i)
    ASSERT_EQ(histogram::lowest_in(i), histogram::lowest_in(i - 1) + histogram::width_of(i - 1)) << i;
  EXPECT_EQ(histogram::lowest_in(0), 0);
  EXPECT_EQ(histogram::index_of(histogram::highest_value), histogram::bucket_count - 1);
  // A few thousand buckets: 16 KiB per histogram.
  EXPECT_LT(histogram::bucket_count, 2100u);
}

TEST(Histogram, EveryValueFallsInItsBucket) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(0, std::log2(static_cast<double>(histogram::highest_value)));
  for (int i = 0; i < 100000; ++i) {
    auto v = static_cast<std::int64_t>(std::exp2(exponent(rng)));
    auto index = histogram::index_of(v);
    ASSERT_LE(histogram::lowest_in(index), v) << v;
    ASSERT_LT(v, histogram::lowest_in(index) + histogram::width_of(index)) << v;
  }
}

TEST(Histogram, BucketsAreAtMostOneSixtyFourthWideFromOneMicrosecondToSixtySeconds) {
  for (std::int64_t v = us; v <= 60 * s; v = v * 11 / 10) {
    auto index = histogram::index_of(v);
    double width = static_cast<double>(histogram::width_of(index));
    EXPECT_LE(width / static_cast<double>(histogram::lowest_in(index)), 1.0 / 64) << v;
  }
}

TEST(Histogram, SingleValueIsReportedExactly) {
  histogram h;
  h.record(1234567);
  // Clamped to [min, max], a lone value comes back as itself.
  EXPECT_EQ(h.percentile(0), 1234567);
  EXPECT_EQ(h.percentile(50), 1234567);
  EXPECT_EQ(h.percentile(99.9), 1234567);
  EXPECT_EQ(h.max(), 1234567);
  EXPECT_EQ(h.min(), 1234567);
}

TEST(Histogram, PercentilesOfAUniformRangeAreWithinOnePercent) {
  histogram h;
  for (std::int64_t v = 1; v <= 100000; ++v) h.record(v * us);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_LE(relative_error(h.percentile(50), 50000 * us), 0.01);
  EXPECT_LE(relative_error(h.percentile(90), 90000 * us), 0.01);
  EXPECT_LE(relative_error(h.percentile(99), 99000 * us), 0.01);
  EXPECT_LE(relative_error(h.percentile(99.9), 99900 * us), 0.01);
  EXPECT_EQ(h.percentile(100), 100000 * us);
  EXPECT_EQ(h.max(), 100000 * us);
  EXPECT_EQ(h.min(), us);
  EXPECT_NEAR(h.mean(), 50000.5 * us, 1.0);
}

TEST(Histogram, PercentileRanksRoundUp) {
  histogram h;
  for (int i = 0; i < 99; ++i) h.record(1 * ms);
  h.record(1 * s);
  // 99 of 100 values are 1 ms: p99 is 1 ms, anything above is the outlier.
  EXPECT_LE(relative_error(h.percentile(99), 1 * ms), 0.01);
  EXPECT_LE(relative_error(h.percentile(99.5), 1 * s), 0.01);
  EXPECT_EQ(h.percentile(100), 1 * s);
}

TEST(Histogram, SmallValuesAreExact) {
  histogram h;
  for (std::int64_t v = 0; v < 128; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 63);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 127);
}

TEST(Histogram, EdgeValuesAreClampedIntoRange) {
  histogram h;
  h.record(-5);  // a clock skew between processes: counted as 0
  h.record(0);
  h.record(2 * histogram::highest_value);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.min(), 0);
  // The exact max survives; percentiles in the last bucket stay within it.
  EXPECT_EQ(h.max(), 2 * histogram::highest_value);
  EXPECT_EQ(h.percentile(100), 2 * histogram::highest_value);
  EXPECT_LE(relative_error(h.percentile(99), histogram::highest_value), 0.01);
  EXPECT_EQ(h.percentile(10), 0);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  histogram a, b, all;
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency(std::log(2.0 * ms), 1.0);
  for (int i = 0; i < 50000; ++i) {
    auto v = static_cast<std::int64_t>(latency(rng));
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.sum(), all.sum());
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
  for (std::size_t i = 0; i < histogram::bucket_count; ++i) ASSERT_EQ(a.bucket(i), all.bucket(i));
}

TEST(Histogram, MergeWithEmptyKeepsMinAndMax) {
  histogram a, empty;
  a.record(5 * ms);
  a.merge(empty);
  EXPECT_EQ(a.min(), 5 * ms);
  empty.merge(a);
  EXPECT_EQ(empty.min(), 5 * ms);
  EXPECT_EQ(empty.max(), 5 * ms);
  EXPECT_EQ(empty.count(), 1u);
}

TEST(Histogram, ClearForgetsEverything) {
  histogram h;
  h.record(3 * ms);
  h.clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.bucket(histogram::index_of(3 * ms)), 0u);
  h.record(1 * ms);
  EXPECT_EQ(h.min(), 1 * ms);
}

}  // namespace
}  // namespace switchboard::load
