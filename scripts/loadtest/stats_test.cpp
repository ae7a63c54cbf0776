#include "scripts/loadtest/stats.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

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
  const std::string line = encode(s);
  // The control line is split at spaces and ends at a newline.
  EXPECT_EQ(line.find_first_of(" \n"), std::string::npos) << line;
  auto back = decode_stats(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(encode(*back), line);
  EXPECT_EQ(back->c.expected, 24u);
  EXPECT_EQ(back->errors.at("rate_limited"), 1u);
  EXPECT_EQ(back->failures.at("connect.connection_refused"), 1u);
  EXPECT_EQ(back->close_codes.at(1008), 1u);
  EXPECT_EQ(back->latency.count(), s.latency.count());
  EXPECT_EQ(back->latency.percentile(99), s.latency.percentile(99));
  EXPECT_EQ(back->latency.max(), s.latency.max());
  EXPECT_EQ(back->latency.sum(), s.latency.sum());
  EXPECT_EQ(back->connect_begin, s.connect_begin);
  EXPECT_EQ(back->connect_end, s.connect_end);
  EXPECT_EQ(back->cpu, s.cpu);
}

TEST(Stats, CountersAndHistogramsRoundTripOnTheirOwn) {
  stats s = sample(2);
  auto c = decode_counters(encode(s.c));
  ASSERT_TRUE(c);
  for (const auto& f : counter_fields) EXPECT_EQ((*c).*f.member, s.c.*f.member) << f.name;
  auto h = decode_histogram(encode(s.latency));
  ASSERT_TRUE(h);
  EXPECT_EQ(encode(*h), encode(s.latency));
  auto empty = decode_histogram(encode(histogram{}));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->count(), 0u);
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

// The reason decode gives for `text`, or "" if it decoded.
std::string stats_error(std::string_view text) {
  std::string why;
  return decode_stats(text, &why) ? std::string() : why;
}

std::string histogram_error(std::string_view text) {
  std::string why;
  return decode_histogram(text, &why) ? std::string() : why;
}

TEST(Stats, DecodeRefusesGarbage) {
  EXPECT_FALSE(decode_stats(""));
  EXPECT_FALSE(decode_stats("sent=abc"));
  EXPECT_FALSE(decode_stats("[1,2]"));
  EXPECT_FALSE(decode_stats(R"({"nonsense":1})"));
  EXPECT_FALSE(decode_counters("sent"));
  EXPECT_FALSE(decode_counters(encode(sample(1).c) + "x"));  // trailing bytes
  // Buckets that do not add up to the count would make percentiles lie.
  EXPECT_FALSE(decode_histogram(R"({"count":2,"min":1,"max":1,"sum":2,"buckets":[[64,1]]})"));
  EXPECT_FALSE(decode_histogram(R"({"count":1,"min":1,"max":1,"sum":1,"buckets":[[64,2]]})"));
  EXPECT_FALSE(decode_histogram(R"({"count":1,"min":1,"max":1,"sum":1,"buckets":[[99999,1]]})"));
  EXPECT_FALSE(decode_histogram(R"({"count":1,"min":1,"max":1,"sum":1,"buckets":[[64]]})"));
  EXPECT_TRUE(decode_histogram(R"({"count":0,"min":0,"max":0,"sum":0,"buckets":[]})"));
}

TEST(Stats, DecodeSaysWhatIsWrong) {
  EXPECT_NE(stats_error("").find("parse error"), std::string::npos) << stats_error("");
  EXPECT_NE(stats_error("[1]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(stats_error("{}").find("missing \"counters\""), std::string::npos) << stats_error("{}");

  // Each field must be a whole number in range: nothing is truncated or wrapped.
  const std::string line = encode(sample(1));
  auto with = [&](std::string_view from, std::string_view to) {
    std::string changed = line;
    auto at = changed.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) changed.replace(at, from.size(), to);
    return stats_error(changed);
  };
  EXPECT_NE(with(R"("sent":3)", R"("sent":"3")").find("\"sent\": expected a whole number >= 0"), std::string::npos);
  EXPECT_NE(with(R"("sent":3)", R"("sent":-3)").find("\"sent\""), std::string::npos);
  EXPECT_NE(with(R"("sent":3)", R"("sent":3.5)").find("\"sent\""), std::string::npos);
  EXPECT_NE(with(R"("cpu":5)", R"("cpu":18446744073709551615)").find("\"cpu\""), std::string::npos);
  EXPECT_NE(with(R"("1008":1)", R"("10x8":1)").find("close code"), std::string::npos);
  EXPECT_NE(with(R"("rate_limited":1)", R"("rate_limited":null)").find("rate_limited"), std::string::npos);
  EXPECT_EQ(with(R"("cpu":5)", R"("cpu":-5)"), "");  // nanos are signed

  EXPECT_NE(histogram_error(R"({"count":2,"min":1,"max":1,"sum":2,"buckets":[[64,1]]})").find("count"),
            std::string::npos);
  EXPECT_NE(histogram_error(R"({"count":1,"min":1,"max":1,"sum":1,"buckets":[[99999,1]]})").find("out of range"),
            std::string::npos);
}

// A line cut anywhere (a child killed mid-write) is refused with a reason.
TEST(Stats, TruncatedLinesAreRefused) {
  const std::string line = encode(sample(2));
  for (std::size_t n = 0; n < line.size(); ++n) {
    std::string why;
    EXPECT_FALSE(decode_stats(std::string_view(line).substr(0, n), &why)) << n;
    EXPECT_FALSE(why.empty()) << n;
  }
  const std::string h = encode(sample(1).latency);
  for (std::size_t n = 0; n < h.size(); ++n) EXPECT_FALSE(decode_histogram(std::string_view(h).substr(0, n))) << n;
}

}  // namespace
}  // namespace switchboard::load
