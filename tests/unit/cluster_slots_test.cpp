// Redis Cluster's addressing on its own: key slots (checked against what
// CLUSTER KEYSLOT answers), the cluster:// URL, and the slot map read from
// CLUSTER SLOTS replies, good and bad.
#include <gtest/gtest.h>

#include <string>

#include "common/protocol/redis_keys.hpp"
#include "common/redis/cluster_seeds.hpp"
#include "common/redis/key_slot.hpp"
#include "common/redis/slot_map.hpp"

namespace switchboard::redis {
namespace {

TEST(key_slot, matches_cluster_keyslot) {
  // Each value as redis-server 7.0 answers CLUSTER KEYSLOT.
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot("foo{hash_tag}"), 2515);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("123456789"), 12739);
  EXPECT_EQ(key_slot(""), 0);
  EXPECT_EQ(key_slot("\xc3\xa9"), 10180);
  EXPECT_EQ(key_slot("{registry}"), 3850);
  EXPECT_EQ(crc16("123456789"), 0x31c3) << "CRC-16/XMODEM's check value";
}

TEST(key_slot, hash_tags) {
  EXPECT_EQ(hash_tag("a{b}c"), "b");
  EXPECT_EQ(hash_tag("{a}b}"), "a");
  EXPECT_EQ(key_slot("{a}b}"), 15495);
  // An empty tag, or none closed: the whole key.
  EXPECT_EQ(hash_tag("x{}{y}"), "x{}{y}");
  EXPECT_EQ(key_slot("x{}{y}"), 14166);
  EXPECT_EQ(key_slot("{}x"), 10595);
  EXPECT_EQ(key_slot("a{b"), 13340);
}

TEST(key_slot, a_personal_rooms_history_shares_the_users_channels_slot) {
  // Its messages go out on the users channel, in the history script.
  redis_keys keys("sb:");
  EXPECT_EQ(keys.history_stream("user:alice"), "sb:history:{sb:users}user:alice");
  EXPECT_EQ(keys.history_meta("user:alice"), "sb:history-meta:{sb:users}user:alice");
  for (std::string user : {"alice", "b}ob", "{x}", ""}) {
    EXPECT_EQ(key_slot(keys.history_stream("user:" + user)), key_slot(keys.users_channel())) << user;
    EXPECT_EQ(key_slot(keys.history_meta("user:" + user)), key_slot(keys.users_channel())) << user;
  }
  EXPECT_NE(keys.history_stream("user:alice"), keys.history_stream("user:bob"));
}

TEST(key_slot, a_rooms_keys_and_channel_share_a_slot) {
  redis_keys keys("sb:");
  EXPECT_EQ(key_slot(keys.room_channel("lobby")), 10294);
  for (std::string room : {"lobby", "a}b", "{x}", "user:alice", "chat:lobby"}) {
    std::uint16_t slot = key_slot(keys.room_channel(room));
    EXPECT_EQ(key_slot(keys.room_workers(room)), slot) << room;
    EXPECT_EQ(key_slot(keys.room_members("0123456789abcdef", room)), slot) << room;
    if (room.starts_with("user:")) continue;
    EXPECT_EQ(key_slot(keys.history_stream(room)), slot) << room;
    EXPECT_EQ(key_slot(keys.history_meta(room)), slot) << room;
  }
  std::string worker = "0123456789abcdef";
  EXPECT_EQ(key_slot(keys.direct_channel(worker)), key_slot(keys.probe_channel(worker)));
  std::uint16_t registry = key_slot(keys.workers());
  EXPECT_EQ(key_slot(keys.worker_entry(worker)), registry);
  EXPECT_EQ(key_slot(keys.worker_stats(worker)), registry);
  EXPECT_EQ(key_slot(keys.worker_rooms(worker)), registry);
}

std::string rejection(std::string_view url) {
  std::string why;
  auto seeds = parse_cluster_url(url, &why);
  EXPECT_FALSE(seeds) << url;
  return why;
}

TEST(cluster_url, nodes_user_and_password) {
  auto seeds = parse_cluster_url("cluster://app:s3cret@h1:7000,[::1]:7001,h3");
  ASSERT_TRUE(seeds);
  ASSERT_EQ(seeds->nodes.size(), 3u);
  EXPECT_EQ(seeds->nodes[0].host, "h1");
  EXPECT_EQ(seeds->nodes[0].port, 7000);
  EXPECT_EQ(seeds->nodes[0].user, "app");
  EXPECT_EQ(seeds->nodes[0].password, "s3cret");
  EXPECT_EQ(seeds->nodes[1].host, "::1");
  EXPECT_EQ(seeds->nodes[2].port, 6379);
  EXPECT_EQ(seeds->node("10.0.0.9", 7005).password, "s3cret");
  EXPECT_EQ(seeds->describe(), "cluster://h1:7000,::1:7001,h3:6379");
  EXPECT_TRUE(parse_cluster_url("cluster://h1:7000/"));
  auto only_password = parse_cluster_url("cluster://:pw@h1:7000");
  ASSERT_TRUE(only_password);
  EXPECT_EQ(only_password->user, "");
  EXPECT_EQ(only_password->password, "pw");
}

TEST(cluster_url, bad_urls_say_why) {
  EXPECT_EQ(rejection("redis://h1:7000"), "scheme must be cluster://");
  EXPECT_EQ(rejection("cluster://"), "names no node");
  EXPECT_EQ(rejection("cluster://h1,,h2"), "empty entry in the node list");
  EXPECT_EQ(rejection(",cluster://h1"), "scheme must be cluster://");
  EXPECT_EQ(rejection("cluster://h1:7000,"), "empty entry in the node list");
  EXPECT_EQ(rejection("cluster://h1:0"), "port of 'h1:0' must be 1 to 65535");
  EXPECT_EQ(rejection("cluster://h1:7000,h2:70000"), "port of 'h2:70000' must be 1 to 65535");
  EXPECT_EQ(rejection("cluster://h1:x"), "'h1:x' is not a host[:port]");
  EXPECT_EQ(rejection("cluster://h1:7000/1"), "a cluster has only database 0: no path");
  EXPECT_EQ(rejection("cluster://h1:7000?db=1"), "unknown parameter db");
  EXPECT_EQ(rejection("cluster://h1#x"), "a fragment (#...) has no meaning here");
}

// A reply as a server sends it, read by the codec.
reply_ptr parsed(std::string_view bytes) {
  reply_reader reader;
  reader.feed(bytes.data(), bytes.size());
  error_code ec;
  auto reply = reader.next(ec);
  EXPECT_FALSE(ec);
  return reply;
}

// "*3 :first :last *3 $ip :port $id": one range with its primary.
std::string range(int first, int last, std::string ip, int port, std::string id) {
  return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*3\r\n$" +
         std::to_string(ip.size()) + "\r\n" + ip + "\r\n:" + std::to_string(port) + "\r\n$" +
         std::to_string(id.size()) + "\r\n" + id + "\r\n";
}

TEST(slot_map, shards_by_primary_in_slot_order) {
  auto reply = parsed("*4\r\n" + range(10923, 16383, "127.0.0.1", 7002, "c") + range(0, 5460, "", 7000, "a") +
                      range(5461, 10000, "127.0.0.1", 7001, "b") + range(10001, 10922, "127.0.0.1", 7000, "a"));
  auto map = slot_map::from_cluster_slots(reply.get(), "node0");
  ASSERT_TRUE(map);
  ASSERT_EQ(map->shards().size(), 3u);
  EXPECT_TRUE(map->complete());
  EXPECT_EQ(map->shards()[0].id, "a");
  EXPECT_EQ(map->shards()[0].address(), "node0:7000") << "an empty address is the host asked";
  EXPECT_EQ(map->shards()[0].ranges.size(), 2u);
  EXPECT_EQ(map->owner(10500)->id, "a");
  EXPECT_EQ(map->owner(5461)->id, "b");
  EXPECT_EQ(map->owner(16383)->id, "c");
  EXPECT_EQ(map->fingerprint(), "a 0-5460 10001-10922;b 5461-10000;c 10923-16383;");
}

TEST(slot_map, an_incomplete_map_says_so) {
  auto reply = parsed("*1\r\n" + range(0, 100, "h", 7000, "a"));
  auto map = slot_map::from_cluster_slots(reply.get(), "h");
  ASSERT_TRUE(map);
  EXPECT_FALSE(map->complete());
  EXPECT_EQ(map->owner(101), nullptr);
  EXPECT_EQ(map->owner(20000), nullptr);
  auto none = parsed("*0\r\n");
  EXPECT_FALSE(slot_map::from_cluster_slots(none.get(), "h")->complete());
}

TEST(slot_map, bad_replies_say_why) {
  auto why_of = [](std::string bytes) {
    std::string why;
    auto reply = parsed(bytes);
    EXPECT_FALSE(slot_map::from_cluster_slots(reply.get(), "h", &why)) << bytes;
    return why;
  };
  EXPECT_EQ(why_of("-ERR This instance has cluster support disabled\r\n"), "CLUSTER SLOTS did not answer a list");
  EXPECT_EQ(why_of("*1\r\n:1\r\n"), "a slot range is malformed");
  EXPECT_EQ(why_of("*1\r\n*2\r\n:1\r\n:2\r\n"), "a slot range is malformed");
  EXPECT_EQ(why_of("*1\r\n" + range(5, 4, "h", 1, "a")), "a slot range is not 0 to 16383");
  EXPECT_EQ(why_of("*1\r\n" + range(0, 16384, "h", 1, "a")), "a slot range is not 0 to 16383");
  EXPECT_EQ(why_of("*1\r\n" + range(-1, 3, "h", 1, "a")), "a slot range is not 0 to 16383");
  EXPECT_EQ(why_of("*1\r\n" + range(0, 3, "h", 0, "a")), "a range's primary is malformed");
  EXPECT_EQ(why_of("*1\r\n" + range(0, 3, "h", 70000, "a")), "a range's primary is malformed");
  EXPECT_EQ(why_of("*1\r\n*3\r\n:0\r\n:3\r\n:7\r\n"), "a range's primary is malformed");
  EXPECT_EQ(why_of("*2\r\n" + range(0, 10, "h", 1, "a") + range(10, 20, "h", 2, "b")), "slot 10 has two primaries");
  std::string why;
  EXPECT_FALSE(slot_map::from_cluster_slots(nullptr, "h", &why));
}

}  // namespace
}  // namespace switchboard::redis
