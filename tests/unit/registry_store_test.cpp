// The registry store against a real redis-server: the instance's run_id,
// a heartbeat's expiring entry, the roll of live and expired workers, and
// leaving for good.
#include "server/cluster/registry_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <optional>
#include <string>

#include "tests/support/redis_process.hpp"
#include "tests/support/run_task.hpp"

namespace switchboard {
namespace {

using namespace std::chrono_literals;

class registry_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SERVER();
    redis_.emplace();
    commands_.emplace(loop_.context().get_executor(),
                      redis::client_options{.where = redis::fixed_locator(*redis::parse_endpoint(redis_->url()))});
    commands_->start();
    ASSERT_TRUE(loop_.run_until([&] { return commands_->is_up(); }, 5s));
    store_.emplace(*commands_, keys_, own_);
  }
  void TearDown() override {
    if (!commands_) return;
    commands_->stop();
    loop_.run_for(50ms);
  }

  template <typename T>
  T run(asio::awaitable<T> task) {
    auto result = testing::run_task(loop_, std::move(task));
    if (!result) throw std::runtime_error("store call did not finish");
    return std::move(*result);
  }
  void run(asio::awaitable<void> task) {
    run([](asio::awaitable<void> t) -> asio::awaitable<bool> {
      co_await std::move(t);
      co_return true;
    }(std::move(task)));
  }

  testing::test_loop loop_;
  std::optional<testing::redis_process> redis_;
  std::optional<redis::client> commands_;
  redis_keys keys_{"sbtest:"};
  std::string own_ = "cccccccccccccccc";
  std::optional<registry_store> store_;
  std::string report_ = R"({"node":"n","worker":0,"connections":3})";
};

TEST_F(registry_store_test, RunIdIsTheInstances) {
  auto id = run(store_->run_id());
  EXPECT_EQ(id.size(), 40u);
  EXPECT_NE(redis_->command({"INFO", "server"}).find("run_id:" + id), std::string::npos);
}

TEST_F(registry_store_test, AHeartbeatWritesAnExpiringEntryAndListsUs) {
  EXPECT_FALSE(run(store_->heartbeat("r1", 3000ms, report_)));
  EXPECT_EQ(redis_->command({"GET", keys_.worker_entry(own_)}), "r1");
  auto ttl = std::stoi(redis_->command({"PTTL", keys_.worker_entry(own_)}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 3000);
  EXPECT_EQ(redis_->command({"SMEMBERS", keys_.workers()}), "[" + own_ + "]");
}

TEST_F(registry_store_test, TheRollSplitsLiveFromExpiredAndPrunesTheExpired) {
  run(store_->heartbeat("r1", 3000ms, report_));
  redis_->command({"SADD", keys_.workers(), "dddddddddddddddd"});  // listed, no entry
  auto roll = run(store_->read_roll());
  ASSERT_TRUE(roll.has_value());
  ASSERT_EQ(roll->live.size(), 1u);
  EXPECT_EQ(roll->live.at(own_), "r1");
  EXPECT_EQ(roll->expired, std::vector<std::string>{"dddddddddddddddd"});
  EXPECT_EQ(redis_->command({"SMEMBERS", keys_.workers()}), "[" + own_ + "]");
}

TEST_F(registry_store_test, ReportsAreReadForWorkersWhoseReportLivesAndNothingIsPruned) {
  run(store_->heartbeat("r1", 3000ms, report_));
  redis_->command({"SADD", keys_.workers(), "dddddddddddddddd"});  // listed, no report
  auto reports = run(store_->read_reports());
  ASSERT_TRUE(reports.has_value());
  EXPECT_EQ(*reports, std::vector<std::string>{report_});
  EXPECT_NE(redis_->command({"SMEMBERS", keys_.workers()}).find("dddddddddddddddd"), std::string::npos)
      << "pruning is read_roll's, so that the dead worker is still swept";
  auto ttl = std::stoi(redis_->command({"PTTL", keys_.worker_stats(own_)}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 3000);
}

TEST_F(registry_store_test, AnEmptyRegistryIsAnEmptyRoll) {
  auto roll = run(store_->read_roll());
  ASSERT_TRUE(roll.has_value());
  EXPECT_TRUE(roll->live.empty());
  EXPECT_TRUE(roll->expired.empty());
}

TEST_F(registry_store_test, WithdrawRemovesEntryAndListing) {
  run(store_->heartbeat("r1", 3000ms, report_));
  EXPECT_FALSE(run(store_->announce()));
  run(store_->withdraw());
  EXPECT_EQ(redis_->command({"EXISTS", keys_.worker_entry(own_)}), "0");
  EXPECT_EQ(redis_->command({"EXISTS", keys_.worker_stats(own_)}), "0");
  EXPECT_EQ(redis_->command({"SMEMBERS", keys_.workers()}), "[]");
}

TEST_F(registry_store_test, WithRedisGoneCallsFail) {
  redis_->stop();
  ASSERT_TRUE(loop_.run_until([&] { return !commands_->is_up(); }, 5s));
  EXPECT_EQ(run(store_->run_id()), "");
  EXPECT_TRUE(run(store_->heartbeat("r1", 3000ms, report_)));
  EXPECT_FALSE(run(store_->read_roll()).has_value());
}

}  // namespace
}  // namespace switchboard
