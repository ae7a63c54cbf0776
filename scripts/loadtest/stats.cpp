#include "scripts/loadtest/stats.hpp"

#include <algorithm>
#include <charconv>

namespace switchboard::load {
namespace {

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

template <typename T>
void append_number(std::string& out, T value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// Calls f(item) for each non-empty item of `text` split at `sep`; false as soon as f does.
template <typename F>
bool for_each_item(std::string_view text, char sep, F f) {
  while (!text.empty()) {
    auto end = text.find(sep);
    auto item = text.substr(0, end);
    if (!item.empty() && !f(item)) return false;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return true;
}

// "key:n,key:n"
template <typename Map>
void append_map(std::string& out, const Map& m) {
  bool first = true;
  for (const auto& [key, n] : m) {
    if (!first) out += ',';
    first = false;
    if constexpr (std::is_same_v<typename Map::key_type, int>) {
      append_number(out, key);
    } else {
      out += key;
    }
    out += ':';
    append_number(out, n);
  }
}

template <typename Map>
bool parse_map(std::string_view text, Map& m) {
  return for_each_item(text, ',', [&](std::string_view item) {
    auto colon = item.rfind(':');
    if (colon == std::string_view::npos) return false;
    std::uint64_t n = 0;
    if (!parse_number(item.substr(colon + 1), n)) return false;
    if constexpr (std::is_same_v<typename Map::key_type, int>) {
      int key = 0;
      if (!parse_number(item.substr(0, colon), key)) return false;
      m[key] += n;
    } else {
      m[std::string(item.substr(0, colon))] += n;
    }
    return true;
  });
}

bool set_counter(counters& c, std::string_view key, std::string_view value) {
  for (const auto& f : counter_fields) {
    if (key == f.name) return parse_number(value, c.*f.member);
  }
  return false;
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

std::string encode(const counters& c) {
  std::string out;
  for (const auto& f : counter_fields) {
    if (!out.empty()) out += ' ';
    out += f.name;
    out += '=';
    append_number(out, c.*f.member);
  }
  return out;
}

// "count/min/max/sum/index:n,index:n" with only the non-empty buckets.
std::string encode(const histogram& h) {
  std::string out;
  append_number(out, h.count());
  out += '/';
  append_number(out, h.min());
  out += '/';
  append_number(out, h.max());
  out += '/';
  append_number(out, h.sum());
  out += '/';
  bool first = true;
  for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
    if (h.bucket(i) == 0) continue;
    if (!first) out += ',';
    first = false;
    append_number(out, i);
    out += ':';
    append_number(out, h.bucket(i));
  }
  return out;
}

std::string encode(const stats& s) {
  std::string out = encode(s.c);
  out += " codes=";  // not "errors": that is a counter
  append_map(out, s.errors);
  out += " failures=";
  append_map(out, s.failures);
  out += " close=";
  append_map(out, s.close_codes);
  out += " connect=";
  append_number(out, s.connect_begin);
  out += '/';
  append_number(out, s.connect_end);
  out += " cpu=";
  append_number(out, s.cpu);
  out += " lat=";
  out += encode(s.latency);
  return out;
}

std::optional<counters> decode_counters(std::string_view text) {
  counters c;
  bool ok = for_each_item(text, ' ', [&](std::string_view token) {
    auto eq = token.find('=');
    return eq != std::string_view::npos && set_counter(c, token.substr(0, eq), token.substr(eq + 1));
  });
  if (!ok) return std::nullopt;
  return c;
}

std::optional<histogram> decode_histogram(std::string_view token) {
  std::uint64_t parts[4] = {};
  for (auto& part : parts) {
    auto slash = token.find('/');
    if (slash == std::string_view::npos || !parse_number(token.substr(0, slash), part)) return std::nullopt;
    token.remove_prefix(slash + 1);
  }
  histogram h;
  std::uint64_t total = 0;
  bool ok = for_each_item(token, ',', [&](std::string_view item) {
    auto colon = item.find(':');
    std::size_t index = 0;
    std::uint64_t n = 0;
    if (colon == std::string_view::npos || !parse_number(item.substr(0, colon), index) ||
        !parse_number(item.substr(colon + 1), n))
      return false;
    total += n;
    return h.restore_bucket(index, n);
  });
  // The buckets must account for every value, or percentiles would lie.
  if (!ok || total != parts[0]) return std::nullopt;
  h.restore_aggregates(parts[0], static_cast<std::int64_t>(parts[1]), static_cast<std::int64_t>(parts[2]), parts[3]);
  return h;
}

std::optional<stats> decode_stats(std::string_view text) {
  stats s;
  bool ok = for_each_item(text, ' ', [&](std::string_view token) {
    auto eq = token.find('=');
    if (eq == std::string_view::npos) return false;
    auto key = token.substr(0, eq);
    auto value = token.substr(eq + 1);
    if (key == "codes") return parse_map(value, s.errors);
    if (key == "failures") return parse_map(value, s.failures);
    if (key == "close") return parse_map(value, s.close_codes);
    if (key == "cpu") return parse_number(value, s.cpu);
    if (key == "connect") {
      auto slash = value.find('/');
      return slash != std::string_view::npos && parse_number(value.substr(0, slash), s.connect_begin) &&
             parse_number(value.substr(slash + 1), s.connect_end);
    }
    if (key == "lat") {
      auto h = decode_histogram(value);
      if (!h) return false;
      s.latency = *h;
      return true;
    }
    return set_counter(s.c, key, value);
  });
  if (!ok) return std::nullopt;
  return s;
}

}  // namespace switchboard::load
