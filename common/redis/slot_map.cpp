#include "common/redis/slot_map.hpp"

#include <algorithm>
#include <map>

#include "common/redis/key_slot.hpp"

namespace switchboard::redis {
namespace {

std::optional<slot_map> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

std::optional<std::uint16_t> slot_of(const redisReply* r) {
  if (r->type != REDIS_REPLY_INTEGER || r->integer < 0 || r->integer >= slot_count) return std::nullopt;
  return static_cast<std::uint16_t>(r->integer);
}

}  // namespace

std::optional<slot_map> slot_map::from_cluster_slots(const redisReply* reply, const std::string& asked_host,
                                                     std::string* why) {
  if (!reply || reply->type != REDIS_REPLY_ARRAY) return reject(why, "CLUSTER SLOTS did not answer a list");
  slot_map map;
  map.owners_.assign(slot_count, -1);
  std::map<std::string, std::size_t> by_primary;  // id (or address) -> index
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    // first, last, then the primary: ip, port, id, ... ; replicas follow.
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) return reject(why, "a slot range is malformed");
    auto first = slot_of(range->element[0]);
    auto last = slot_of(range->element[1]);
    if (!first || !last || *first > *last) return reject(why, "a slot range is not 0 to 16383");
    const redisReply* node = range->element[2];
    if (node->type != REDIS_REPLY_ARRAY || node->elements < 2 || node->element[0]->type != REDIS_REPLY_STRING ||
        node->element[1]->type != REDIS_REPLY_INTEGER || node->element[1]->integer <= 0 ||
        node->element[1]->integer > 65535)
      return reject(why, "a range's primary is malformed");
    shard s;
    s.host = text_of(*node->element[0]);
    // "" (or "?" for an unknown one): the host that was asked.
    if (s.host.empty() || s.host == "?") s.host = asked_host;
    s.port = static_cast<std::uint16_t>(node->element[1]->integer);
    if (node->elements >= 3 && node->element[2]->type == REDIS_REPLY_STRING) s.id = text_of(*node->element[2]);
    std::string key = s.id.empty() ? s.address() : s.id;
    auto [it, added] = by_primary.emplace(key, map.shards_.size());
    if (added) map.shards_.push_back(std::move(s));
    map.shards_[it->second].ranges.emplace_back(*first, *last);
  }
  // In slot order, so that the fingerprint is the same whatever order the
  // node listed the ranges in.
  for (auto& s : map.shards_) std::sort(s.ranges.begin(), s.ranges.end());
  std::sort(map.shards_.begin(), map.shards_.end(),
            [](const shard& a, const shard& b) { return a.ranges.front() < b.ranges.front(); });
  for (std::size_t i = 0; i < map.shards_.size(); ++i) {
    for (auto [first, last] : map.shards_[i].ranges) {
      for (std::uint32_t slot = first; slot <= last; ++slot) {
        if (map.owners_[slot] != -1) return reject(why, "slot " + std::to_string(slot) + " has two primaries");
        map.owners_[slot] = static_cast<std::int32_t>(i);
        ++map.served_;
      }
    }
  }
  return map;
}

const shard* slot_map::owner(std::uint16_t slot) const {
  if (slot >= owners_.size() || owners_[slot] < 0) return nullptr;
  return &shards_[static_cast<std::size_t>(owners_[slot])];
}

std::string slot_map::fingerprint() const {
  std::string out;
  for (const auto& s : shards_) {
    out += s.id.empty() ? s.address() : s.id;
    for (auto [first, last] : s.ranges) out += " " + std::to_string(first) + "-" + std::to_string(last);
    out += ";";
  }
  return out;
}

}  // namespace switchboard::redis
