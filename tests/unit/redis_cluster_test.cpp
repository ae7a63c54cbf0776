// The cluster parts of common/redis against a real Redis Cluster of three
// primaries, each with a replica: key slots as the servers compute them, the
// slot map, commands routed to every shard and redirected when a slot moves,
// and sharded subscriptions spread over the shards.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/protocol/redis_keys.hpp"
#include "common/redis/cluster_locator.hpp"
#include "common/redis/error.hpp"
#include "common/redis/key_slot.hpp"
#include "common/redis/router.hpp"
#include "common/redis/shard_lanes.hpp"
#include "common/redis/subscriber.hpp"
#include "tests/support/cluster_servers.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard::redis {
namespace {

using namespace std::chrono_literals;

class redis_cluster_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_CLUSTER();
    cluster_.emplace();
    auto seeds = parse_cluster_url(cluster_->url());
    ASSERT_TRUE(seeds);
    where_ = std::make_shared<cluster_locator>(loop_.context().get_executor(), *seeds, 0);
    where_->start();
    ASSERT_TRUE(loop_.run_until([&] { return where_->map() != nullptr; }, 5s));
  }
  void TearDown() override {
    if (router_) router_->close();
    if (lanes_) lanes_->stop();
    if (subscriber_) subscriber_->stop();
    if (where_) where_->stop();
    loop_.run_for(100ms);
  }

  router& commands() {
    if (!router_) router_.emplace(loop_.context().get_executor(), pool_options{}, counters_, where_);
    return *router_;
  }
  std::string run(std::vector<std::string> args) {
    auto result = testing::run_task(
        loop_, [](router& r, std::vector<std::string> a) -> asio::awaitable<std::string> {
          std::vector<std::string_view> argv(a.begin(), a.end());
          auto [ec, reply] = co_await r.request(argv);
          if (ec && !reply) co_return "(failed) " + ec.message();
          if (reply->type == REDIS_REPLY_INTEGER) co_return std::to_string(reply->integer);
          if (reply->type == REDIS_REPLY_NIL) co_return "(nil)";
          co_return std::string(text_of(*reply));
        }(commands(), std::move(args)));
    return result.value_or("(no answer)");
  }

  testing::test_loop loop_;
  std::optional<testing::cluster_servers> cluster_;
  std::shared_ptr<cluster_locator> where_;
  pool_counters counters_{};
  std::optional<router> router_;
  std::optional<subscriber> subscriber_;
  std::vector<std::string_view> scripts_{"return 1"};
  // Stopped in TearDown: the locator's posted listeners may still reach it.
  std::optional<shard_lanes> lanes_;
};

TEST_F(redis_cluster_test, slots_and_map_agree_with_the_servers) {
  redis_keys keys("sb:");
  for (int i = 0; i < 200; ++i) {
    std::string key = i % 2 ? keys.room_channel("room-" + std::to_string(i)) : "plain-key-" + std::to_string(i);
    ASSERT_EQ(std::to_string(key_slot(key)), cluster_->node(0).command({"CLUSTER", "KEYSLOT", key})) << key;
  }
  const slot_map* map = where_->map();
  EXPECT_TRUE(map->complete());
  ASSERT_EQ(map->shards().size(), 3u);
  for (const auto& s : map->shards()) {
    auto* owner = cluster_->owner(s.ranges.front().first);
    ASSERT_NE(owner, nullptr);
    EXPECT_EQ(s.port, owner->port());
  }
}

TEST_F(redis_cluster_test, commands_reach_every_shard) {
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 30; ++i) {
    std::string key = "k" + std::to_string(i);
    EXPECT_EQ(run({"SET", key, "v" + std::to_string(i)}), "OK");
    ports.insert(where_->map()->owner(key_slot(key))->port);
  }
  EXPECT_EQ(ports.size(), 3u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(run({"GET", "k" + std::to_string(i)}), "v" + std::to_string(i));
  EXPECT_EQ(counters_.moved_redirects.load(), 0u);
  // Keys of one tag in one transaction; a script's keys the same.
  EXPECT_EQ(run({"EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", "{t}a", "x"}), "OK");
  EXPECT_EQ(run({"GET", "{t}a"}), "x");
}

TEST_F(redis_cluster_test, a_moved_slot_is_followed) {
  std::string key = "moving-key";
  EXPECT_EQ(run({"SET", key, "1"}), "OK");
  std::uint16_t slot = key_slot(key);
  auto* from = cluster_->owner(slot);
  ASSERT_NE(from, nullptr);
  testing::redis_process* to = nullptr;
  for (auto* p : cluster_->primaries())
    if (p != from) to = p;
  ASSERT_NE(to, nullptr);
  // The steps redis-cli --cluster reshard takes, for this key's slot alone.
  std::string slot_text = std::to_string(slot);
  std::string to_id = to->command({"CLUSTER", "MYID"});
  to->command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", from->command({"CLUSTER", "MYID"})});
  from->command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", to_id});
  from->command({"MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0", "5000", "KEYS", key});
  for (auto* p : cluster_->primaries()) p->command({"CLUSTER", "SETSLOT", slot_text, "NODE", to_id});
  EXPECT_EQ(run({"GET", key}), "1");
  EXPECT_GE(counters_.moved_redirects.load(), 1u);
  EXPECT_TRUE(loop_.run_until([&] { return where_->map()->owner(slot)->port == to->port(); }, 3s));
}

TEST_F(redis_cluster_test, shard_lanes_keep_order_per_shard_refuse_a_moved_slot_and_tell_of_a_restart) {
  lanes_.emplace(loop_.context().get_executor(), where_, client_options{.where = where_}, scripts_, counters_);
  shard_lanes& lanes = *lanes_;
  int reconnects = 0;
  lanes.on_reconnect = [&] { ++reconnects; };
  lanes.start();
  ASSERT_TRUE(loop_.run_until([&] { return lanes.all_up(); }, 3s)) << "a lane per primary";

  auto send = [&](std::vector<std::string> args) {
    return testing::run_task(loop_, [](shard_lanes& l, std::vector<std::string> a) -> asio::awaitable<std::string> {
             std::vector<std::string_view> argv(a.begin(), a.end());
             auto [ec, reply] = co_await l.request(argv);
             if (ec) co_return "(failed) " + ec.message();
             if (reply->type == REDIS_REPLY_INTEGER) co_return std::to_string(reply->integer);
             co_return std::string(text_of(*reply));
           }(lanes, std::move(args)))
        .value_or("(no answer)");
  };
  // Many in flight on every shard at once: each key's appends land in order.
  std::vector<std::string> keys;
  for (int i = 0; i < 6; ++i) keys.push_back("lane-" + std::to_string(i));
  int done = 0;
  for (int n = 0; n < 100; ++n)
    for (const auto& key : keys)
      asio::co_spawn(loop_.context(), [&, key, n]() -> asio::awaitable<void> {
        std::string value = std::to_string(n) + ",";
        std::array<std::string_view, 3> args{"APPEND", key, value};
        co_await lanes.request(args);
        ++done;
      }, asio::detached);
  ASSERT_TRUE(loop_.run_until([&] { return done == 600; }, 5s));
  std::string expected;
  for (int n = 0; n < 100; ++n) expected += std::to_string(n) + ",";
  std::set<std::uint16_t> ports;
  for (const auto& key : keys) {
    EXPECT_EQ(send({"GET", key}), expected) << key;
    ports.insert(where_->map()->owner(key_slot(key))->port);
  }
  EXPECT_GE(ports.size(), 2u) << "the keys should span shards";
  // The preloaded script is on every primary.
  for (auto* primary : cluster_->primaries())
    EXPECT_EQ(primary->command({"SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"}), "[1]");

  std::string ids = testing::run_task(loop_, lanes.run_ids()).value_or("");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ' '), 3) << ids;

  // A slot moved behind the map's back: MOVED, refused, not retried elsewhere.
  std::string key = keys.front();
  std::uint16_t slot = key_slot(key);
  auto* from = cluster_->owner(slot);
  testing::redis_process* to = nullptr;
  for (auto* p : cluster_->primaries())
    if (p != from) to = p;
  std::string to_id = to->command({"CLUSTER", "MYID"});
  to->command({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from->command({"CLUSTER", "MYID"})});
  from->command({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id});
  from->command({"MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0", "5000", "KEYS", key});
  for (auto* p : cluster_->primaries()) p->command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id});
  EXPECT_EQ(send({"GET", key}), "(failed) " + make_error_code(errc::unavailable).message());
  EXPECT_GE(counters_.moved_redirects.load(), 1u);
  EXPECT_TRUE(loop_.run_until([&] { return where_->map()->owner(slot)->port == to->port(); }, 3s));
  EXPECT_EQ(send({"GET", key}), expected) << "on the new owner's lane";

  // A primary restarted in place: its lane comes back, and says so.
  auto* restarted = cluster_->primaries().back();
  restarted->kill();
  restarted->start();
  EXPECT_TRUE(loop_.run_until([&] { return reconnects >= 1 && lanes.all_up(); }, 5s)) << reconnects;
}

TEST_F(redis_cluster_test, sharded_subscriptions_spread_over_the_shards) {
  std::vector<std::pair<std::string, std::string>> got;
  subscriber_.emplace(loop_.context().get_executor(), client_options{.where = where_},
                      [&](std::string_view channel, std::string_view payload) {
                        got.emplace_back(channel, payload);
                      },
                      where_);
  subscriber_->start();
  redis_keys keys("sb:");
  std::vector<std::string> channels;
  for (int i = 0; i < 12; ++i) channels.push_back(keys.room_channel("r" + std::to_string(i)));
  for (const auto& channel : channels) {
    auto ec = testing::run_task(loop_, subscriber_->subscribe(channel));
    ASSERT_TRUE(ec);
    EXPECT_FALSE(*ec) << channel << ": " << ec->message();
  }
  EXPECT_TRUE(loop_.run_until([&] { return subscriber_->is_ready(); }, 3s));
  EXPECT_EQ(subscriber_->shard_connections(), 3u);
  std::size_t listed = 0;
  for (auto* primary : cluster_->primaries()) {
    std::string held = primary->command({"PUBSUB", "SHARDCHANNELS"});
    EXPECT_NE(held, "[]") << "a primary holds none of the rooms";
    for (const auto& channel : channels) listed += held.find(channel + ",") != std::string::npos ||
                                                    held.find(channel + "]") != std::string::npos;
  }
  EXPECT_EQ(listed, channels.size());
  for (const auto& channel : channels) EXPECT_EQ(run({"SPUBLISH", channel, "hi " + channel}), "1");
  EXPECT_TRUE(loop_.run_until([&] { return got.size() == channels.size(); }, 3s));
}

}  // namespace
}  // namespace switchboard::redis
