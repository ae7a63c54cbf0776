// The presence store against a real redis-server: joins and leaves as
// Redis sees them, presence counting only live workers, a worker's room
// rewritten from local truth, and the sweep of a dead worker's leftovers.
#include "server/cluster/presence_store.hpp"

#include "common/redis/router.hpp"

#include <gtest/gtest.h>

#include <set>

#include <chrono>
#include <deque>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/redis_process.hpp"
#include "tests/support/run_task.hpp"

namespace switchboard {
namespace {

using namespace std::chrono_literals;
using ids = std::vector<std::string>;

class presence_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SERVER();
    redis_.emplace();
    redis::pool_options options{.where = redis::fixed_locator(*redis::parse_endpoint(redis_->url()))};
    pool_.emplace(loop_.context().get_executor(), std::move(options), pool_counters_);
    for (auto* worker : {&mine_, &other_}) {
      stores_.emplace_back(loop_.context().get_executor(), *pool_, keys_, *worker, 4);
      alive(*worker);
    }
  }
  void TearDown() override {
    if (!pool_) return;
    pool_->close();
    loop_.run_until([&] { return pool_counters_.all.load() == 0; }, 3s);
  }

  // A worker whose liveness entry exists.
  void alive(const std::string& worker) { redis_->command({"SET", keys_.worker_entry(worker), "run"}); }
  void dead(const std::string& worker) { redis_->command({"DEL", keys_.worker_entry(worker)}); }

  presence_store& store(std::size_t i) { return stores_[i]; }
  template <typename T>
  T run(asio::awaitable<T> task) {
    auto result = testing::run_task(loop_, std::move(task));
    if (!result) throw std::runtime_error("store call did not finish");
    return std::move(*result);
  }
  ids members(const std::string& room) { return run(store(0).members(room)).value_or(ids{"(failed)"}); }
  std::string smembers(const std::string& key) { return redis_->command({"SMEMBERS", key}); }

  testing::test_loop loop_;
  std::optional<testing::redis_process> redis_;
  redis::pool_counters pool_counters_{};
  std::optional<redis::router> pool_;
  redis_keys keys_{"sbtest:"};
  std::string mine_ = "aaaaaaaaaaaaaaaa", other_ = "bbbbbbbbbbbbbbbb";
  std::deque<presence_store> stores_;
};

TEST_F(presence_store_test, MembersOfEveryLiveWorkerSorted) {
  EXPECT_FALSE(run(store(0).add("r", "m.2")));
  EXPECT_FALSE(run(store(0).add("r", "m.1")));
  EXPECT_FALSE(run(store(1).add("r", "o.1")));
  EXPECT_EQ(members("r"), (ids{"m.1", "m.2", "o.1"}));
  EXPECT_EQ(members("empty"), ids{});
}

TEST_F(presence_store_test, ADeadWorkersMembersVanishAtOnce) {
  run(store(0).add("r", "m.1"));
  run(store(1).add("r", "o.1"));
  dead(other_);
  EXPECT_EQ(members("r"), ids{"m.1"});
}

TEST_F(presence_store_test, TheLastLeaveTakesTheWorkerOutOfTheRoom) {
  run(store(0).add("r", "m.1"));
  run(store(0).add("r", "m.2"));
  EXPECT_FALSE(run(store(0).remove("r", "m.1", false)));
  EXPECT_EQ(smembers(keys_.room_workers("r")), "[" + mine_ + "]");
  EXPECT_FALSE(run(store(0).remove("r", "m.2", true)));
  EXPECT_EQ(smembers(keys_.room_workers("r")), "[]");
  EXPECT_EQ(smembers(keys_.worker_rooms(mine_)), "[]");
  EXPECT_EQ(members("r"), ids{});
}

TEST_F(presence_store_test, ReplaceWritesWhatIsLocalWhenTheWriteLeaves) {
  run(store(0).add("r", "stale.1"));
  EXPECT_FALSE(run(store(0).replace("r", [] { return ids{"m.5", "m.6"}; })));
  EXPECT_EQ(members("r"), (ids{"m.5", "m.6"}));
  EXPECT_FALSE(run(store(0).replace("r", [] { return ids{}; })));
  EXPECT_EQ(members("r"), ids{});
  EXPECT_EQ(smembers(keys_.worker_rooms(mine_)), "[]");
}

TEST_F(presence_store_test, ListedRoomsAreThisWorkersOnly) {
  run(store(0).add("x", "m.1"));
  run(store(1).add("y", "o.1"));
  EXPECT_EQ(run(store(0).listed_rooms()), ids{"x"});
}

TEST_F(presence_store_test, SweepCleansADeadWorkerAndSparesALiveOne) {
  run(store(1).add("x", "o.1"));
  run(store(1).add("y", "o.2"));
  auto spared = run(store(0).sweep(other_));
  EXPECT_FALSE(spared.ec);
  EXPECT_EQ(spared.rooms, 0) << "alive: nothing swept";
  EXPECT_EQ(smembers(keys_.worker_rooms(other_)).size() > 2, true);

  dead(other_);
  auto swept = run(store(0).sweep(other_));
  EXPECT_FALSE(swept.ec);
  EXPECT_EQ(swept.rooms, 2);
  EXPECT_EQ(smembers(keys_.worker_rooms(other_)), "[]");
  EXPECT_EQ(smembers(keys_.room_workers("x")), "[]");
  EXPECT_EQ(redis_->command({"EXISTS", keys_.room_members(other_, "y")}), "0");
  std::set<std::pair<std::string, std::string>> departed(swept.departed.begin(), swept.departed.end());
  EXPECT_EQ(departed, (std::set<std::pair<std::string, std::string>>{{"x", "o.1"}, {"y", "o.2"}}));
  auto again = run(store(0).sweep(other_));
  EXPECT_EQ(again.rooms, 0);
  EXPECT_TRUE(again.departed.empty()) << "a second sweep announces nobody twice";
}

TEST_F(presence_store_test, WithRedisGoneCallsFail) {
  redis_->stop();
  EXPECT_TRUE(run(store(0).add("r", "m.1")));
  EXPECT_FALSE(run(store(0).members("r")).has_value());
  EXPECT_FALSE(run(store(0).listed_rooms()).has_value());
  EXPECT_TRUE(run(store(0).sweep(other_)).ec);
}

}  // namespace
}  // namespace switchboard
