#include "scripts/loadtest/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::load {

void histogram::record(std::int64_t value) {
  if (value < 0) value = 0;  // clocks of two processes may disagree by a hair
  ++counts_[index_of(value)];
  if (count_ == 0 || value < min_) min_ = value;
  if (count_ == 0 || value > max_) max_ = value;
  ++count_;
  sum_ += static_cast<std::uint64_t>(value);
}

void histogram::merge(const histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void histogram::clear() {
  counts_.fill(0);
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

double histogram::mean() const {
  return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
}

std::int64_t histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (p >= 100.0) return max_;
  // The rank of the wanted value, 1-based: p50 of 2 values is the first.
  auto rank = static_cast<std::uint64_t>(std::ceil(std::max(p, 0.0) / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(lowest_in(i) + (width_of(i) - 1) / 2, min_, max_);
  }
  return max_;
}

bool histogram::restore_bucket(std::size_t index, std::uint64_t n) {
  if (index >= bucket_count) return false;
  counts_[index] += n;
  return true;
}

void histogram::restore_aggregates(std::uint64_t count, std::int64_t min, std::int64_t max, std::uint64_t sum) {
  count_ = count;
  min_ = min;
  max_ = max;
  sum_ = sum;
}

}  // namespace switchboard::load
