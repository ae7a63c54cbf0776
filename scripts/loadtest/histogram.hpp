#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: values are
// nanoseconds, exact below 128 ns, then 64 buckets per power of two, so a
// bucket is at most 1/64 (1.6 %) of its value wide and the midpoint reported
// is within 0.8 % of any value in it. Range 0 to 60 s (larger values count in
// the last bucket; min and max are kept exactly). Recording is a few integer
// operations and never allocates: it runs once per delivery.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace switchboard::load {

// The bucket layout, apart from the class so that it is complete (and
// usable in constant expressions) where the class sizes its array.
namespace log_buckets {

inline constexpr int sub_bucket_bits = 6;
inline constexpr std::int64_t sub_buckets = std::int64_t{1} << sub_bucket_bits;
inline constexpr std::int64_t highest_value = 60'000'000'000;  // 60 s

// The bucket holding `value` (clamped to [0, highest_value]).
constexpr std::size_t index_of(std::int64_t value) {
  if (value < 0) value = 0;
  if (value > highest_value) value = highest_value;
  auto v = static_cast<std::uint64_t>(value);
  int shift = std::bit_width(v) - 1 - sub_bucket_bits;
  if (shift < 0) shift = 0;
  return static_cast<std::size_t>(shift) * sub_buckets + (v >> shift);
}
// The smallest value of bucket `index`, and the bucket's width.
constexpr std::int64_t lowest_in(std::size_t index) {
  auto i = static_cast<std::int64_t>(index);
  if (i < 2 * sub_buckets) return i;
  std::int64_t shift = i / sub_buckets - 1;
  return (i - shift * sub_buckets) << shift;
}
constexpr std::int64_t width_of(std::size_t index) {
  auto i = static_cast<std::int64_t>(index);
  return i < 2 * sub_buckets ? 1 : std::int64_t{1} << (i / sub_buckets - 1);
}

inline constexpr std::size_t count = index_of(highest_value) + 1;

}  // namespace log_buckets

class histogram {
 public:
  static constexpr std::int64_t highest_value = log_buckets::highest_value;
  static constexpr std::size_t bucket_count = log_buckets::count;
  static constexpr std::size_t index_of(std::int64_t value) { return log_buckets::index_of(value); }
  static constexpr std::int64_t lowest_in(std::size_t index) { return log_buckets::lowest_in(index); }
  static constexpr std::int64_t width_of(std::size_t index) { return log_buckets::width_of(index); }

  void record(std::int64_t value);
  void merge(const histogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  // 0 when empty.
  std::int64_t min() const { return count_ ? min_ : 0; }
  std::int64_t max() const { return count_ ? max_ : 0; }
  double mean() const;
  // The value at percentile `p` (0 to 100): the midpoint of the bucket that
  // holds it, clamped to [min, max]; 0 when empty.
  std::int64_t percentile(double p) const;

  // Raw access for serialising (stats.cpp): bucket counts and the exact
  // aggregates that go with them.
  std::uint64_t bucket(std::size_t index) const { return counts_[index]; }
  std::uint64_t sum() const { return sum_; }
  // Rebuilds a histogram from its serialised parts; false if they disagree.
  bool restore_bucket(std::size_t index, std::uint64_t n);
  void restore_aggregates(std::uint64_t count, std::int64_t min, std::int64_t max, std::uint64_t sum);

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  std::uint64_t sum_ = 0;  // for the mean; 60 s x 150 million values fits
};

}  // namespace switchboard::load
