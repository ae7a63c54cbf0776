#pragma once
// Which primary serves which slot of a Redis Cluster, read from the reply
// to CLUSTER SLOTS. Each primary is one shard: every range it serves, its
// address and its node id.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/redis/reply.hpp"

namespace switchboard::redis {

struct shard {
  std::string id;    // the primary's node id
  std::string host;  // its address as the cluster announces it
  std::uint16_t port = 0;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> ranges;  // first and last slot, inclusive

  std::string address() const { return host + ":" + std::to_string(port); }
};

class slot_map {
 public:
  // `asked_host` stands in for a node that announces no address (an empty
  // one: "the host you asked"). nullopt and a reason in `why` when the
  // reply is not a CLUSTER SLOTS reply.
  static std::optional<slot_map> from_cluster_slots(const redisReply* reply, const std::string& asked_host,
                                                    std::string* why = nullptr);

  // The shard that serves `slot`, or nullptr for a slot nobody serves.
  const shard* owner(std::uint16_t slot) const;
  // Shards in the order of their first slot.
  const std::vector<shard>& shards() const { return shards_; }
  // Every slot is served.
  bool complete() const { return served_ == owners_.size(); }
  // Changes whenever a slot changes hands or a primary is replaced: who
  // serves what, as "id first-last ..." per shard.
  std::string fingerprint() const;

 private:
  std::vector<shard> shards_;
  std::vector<std::int32_t> owners_;  // per slot, an index into shards_ or -1
  std::size_t served_ = 0;
};

}  // namespace switchboard::redis
