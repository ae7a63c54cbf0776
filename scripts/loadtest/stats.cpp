#include "scripts/loadtest/stats.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace switchboard::load {
namespace {

using json = nlohmann::json;

// A line that encode did not write. Thrown while decoding only, and caught
// at the decode_* functions, which turn it into nullopt and a message.
struct bad_line : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

// Compact, and never throws: invalid UTF-8 (bump keeps keys ASCII) would be replaced.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// `value` as a T, which it must hold exactly: a whole number in T's range
// (nlohmann's get<> would truncate 1.5 and wrap -1 without a word).
template <typename T>
T whole_number(const json& value, std::string_view what) {
  static_assert(std::is_same_v<T, std::uint64_t> || std::is_same_v<T, std::int64_t>);
  if (value.is_number_unsigned()) {
    const auto n = value.get<std::uint64_t>();
    if (n <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(n);
  } else if (value.is_number_integer() && std::is_signed_v<T>) {
    return static_cast<T>(value.get<std::int64_t>());
  }
  throw bad_line(std::string(what) + ": expected a whole number" + (std::is_signed_v<T> ? "" : " >= 0") +
                 ", got " + dump(value));
}

// Member `key` of object `j`, which must be there.
const json& member(const json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end()) throw bad_line("missing \"" + std::string(key) + "\"");
  return *it;
}

const json& object_at(const json& j, std::string_view key) {
  const json& value = member(j, key);
  if (!value.is_object()) throw bad_line("\"" + std::string(key) + "\": expected an object, got " + dump(value));
  return value;
}

template <typename T>
T number_at(const json& j, std::string_view key) {
  return whole_number<T>(member(j, key), "\"" + std::string(key) + "\"");
}

json as_json(const counters& c) {
  json j = json::object();
  for (const auto& f : counter_fields) j[f.name] = c.*f.member;
  return j;
}

// Only the non-empty buckets, as [index, count] pairs.
json as_json(const histogram& h) {
  json buckets = json::array();
  for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
    if (h.bucket(i) != 0) buckets.push_back(json::array({i, h.bucket(i)}));
  }
  return {{"count", h.count()}, {"min", h.min()}, {"max", h.max()}, {"sum", h.sum()}, {"buckets", std::move(buckets)}};
}

json as_json(const tally& t) {
  json j = json::object();
  for (const auto& [key, n] : t) j[key] = n;
  return j;
}

// JSON object keys are strings: the close code is written in decimal.
json as_json(const std::map<int, std::uint64_t>& close_codes) {
  json j = json::object();
  for (const auto& [code, n] : close_codes) j[std::to_string(code)] = n;
  return j;
}

counters counters_from(const json& j) {
  counters c;
  for (const auto& f : counter_fields) c.*f.member = number_at<std::uint64_t>(j, f.name);
  return c;
}

histogram histogram_from(const json& j) {
  const auto count = number_at<std::uint64_t>(j, "count");
  const auto min = number_at<std::int64_t>(j, "min");
  const auto max = number_at<std::int64_t>(j, "max");
  const auto sum = number_at<std::uint64_t>(j, "sum");
  const json& buckets = member(j, "buckets");
  if (!buckets.is_array()) throw bad_line("\"buckets\": expected an array, got " + dump(buckets));
  histogram h;
  std::uint64_t total = 0;  // invariant: total <= count, so the sum cannot wrap
  for (const auto& b : buckets) {
    if (!b.is_array() || b.size() != 2) throw bad_line("\"buckets\": expected [index, count] pairs, got " + dump(b));
    const auto index = whole_number<std::uint64_t>(b[0], "bucket index");
    const auto n = whole_number<std::uint64_t>(b[1], "bucket count");
    // The buckets must account for every value, or percentiles would lie.
    if (n > count - total) throw bad_line("the buckets hold more values than \"count\" (" + std::to_string(count) + ")");
    if (!h.restore_bucket(index, n)) throw bad_line("bucket index " + std::to_string(index) + " out of range");
    total += n;
  }
  if (total != count) {
    throw bad_line("the buckets hold " + std::to_string(total) + " values, \"count\" says " + std::to_string(count));
  }
  h.restore_aggregates(count, min, max, sum);
  return h;
}

tally tally_from(const json& j, std::string_view key) {
  tally t;
  for (const auto& [name, n] : object_at(j, key).items()) {
    t[name] += whole_number<std::uint64_t>(n, "\"" + std::string(key) + "\"." + name);
  }
  return t;
}

std::map<int, std::uint64_t> close_codes_from(const json& j) {
  std::map<int, std::uint64_t> m;
  for (const auto& [name, n] : object_at(j, "close_codes").items()) {
    int code = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), code);
    if (ec != std::errc{} || end != name.data() + name.size()) {
      throw bad_line("\"close_codes\": expected a close code, got \"" + name + "\"");
    }
    m[code] += whole_number<std::uint64_t>(n, "\"close_codes\"." + name);
  }
  return m;
}

stats stats_from(const json& j) {
  stats s;
  s.c = counters_from(object_at(j, "counters"));
  s.errors = tally_from(j, "errors");
  s.failures = tally_from(j, "failures");
  s.close_codes = close_codes_from(j);
  s.latency = histogram_from(object_at(j, "latency"));
  s.connect_begin = number_at<nanos>(j, "connect_begin");
  s.connect_end = number_at<nanos>(j, "connect_end");
  s.cpu = number_at<nanos>(j, "cpu");
  return s;
}

// Parses `text` as one JSON object and builds a T from it with `from`; on
// any failure, nullopt and (if asked) the reason, prefixed with `what`.
template <typename T, typename From>
std::optional<T> decode(std::string_view text, std::string* why, std::string_view what, From from) {
  try {
    json j = json::parse(text.begin(), text.end());
    if (!j.is_object()) throw bad_line("expected a JSON object, got " + dump(j));
    return from(j);
  } catch (const json::exception& e) {  // not JSON, or cut short
    if (why) *why = std::string(what) + ": " + e.what();
  } catch (const bad_line& e) {
    if (why) *why = std::string(what) + ": " + e.what();
  }
  return std::nullopt;
}

}  // namespace

void add(counters& into, const counters& from) {
  for (const auto& f : counter_fields) into.*f.member += from.*f.member;
}

void bump(tally& t, std::string_view key) {
  if (!key.empty() && std::all_of(key.begin(), key.end(), key_char)) {
    // The usual case: the key is there already, found without a copy.
    if (auto it = t.find(key); it != t.end()) {
      ++it->second;
    } else {
      t.emplace(std::string(key), 1);
    }
    return;
  }
  std::string clean(key.empty() ? "unknown" : key);
  std::replace_if(clean.begin(), clean.end(), [](char c) { return !key_char(c); }, '_');
  ++t[clean];
}

void stats::merge(const stats& other) {
  add(c, other.c);
  for (const auto& [k, n] : other.errors) errors[k] += n;
  for (const auto& [k, n] : other.failures) failures[k] += n;
  for (const auto& [k, n] : other.close_codes) close_codes[k] += n;
  latency.merge(other.latency);
  if (other.connect_begin != 0 && (connect_begin == 0 || other.connect_begin < connect_begin))
    connect_begin = other.connect_begin;
  connect_end = std::max(connect_end, other.connect_end);
  cpu += other.cpu;
}

std::string encode(const counters& c) { return dump(as_json(c)); }

std::string encode(const histogram& h) { return dump(as_json(h)); }

std::string encode(const stats& s) {
  const json j = {{"counters", as_json(s.c)},
                  {"errors", as_json(s.errors)},
                  {"failures", as_json(s.failures)},
                  {"close_codes", as_json(s.close_codes)},
                  {"latency", as_json(s.latency)},
                  {"connect_begin", s.connect_begin},
                  {"connect_end", s.connect_end},
                  {"cpu", s.cpu}};
  return dump(j);
}

std::optional<counters> decode_counters(std::string_view text, std::string* why) {
  return decode<counters>(text, why, "counters", counters_from);
}

std::optional<histogram> decode_histogram(std::string_view text, std::string* why) {
  return decode<histogram>(text, why, "histogram", histogram_from);
}

std::optional<stats> decode_stats(std::string_view text, std::string* why) {
  return decode<stats>(text, why, "stats", stats_from);
}

}  // namespace switchboard::load
