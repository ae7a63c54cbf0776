// The one publish path against a real redis-server, through a real bus: a
// published message comes back to the sink with the frame every recipient
// gets, on the channel its scope names; a direct message to an id no worker
// hands out reaches nobody; with Redis gone, publishing says unavailable.
#include "server/cluster/publisher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol/client_id.hpp"
#include "common/redis/error.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard {
namespace {

using namespace std::chrono_literals;

struct delivery {
  protocol::scope kind;
  std::string target;
  std::string frame;
};

class kept_deliveries final : public delivery_sink {
 public:
  void deliver(protocol::scope kind, std::string_view target,
               const std::shared_ptr<const std::string>& frame) override {
    got.push_back({kind, std::string(target), *frame});
  }
  void disconnect(const protocol::disconnect_order& order) override { orders.emplace_back(order.target); }
  std::vector<delivery> got;
  std::vector<std::string> orders;
};

class publisher_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SERVER();
    redis_.emplace();
    cfg_.redis = *redis::parse_endpoint(redis_->url());
    bus_.emplace(loop_.context().get_executor(), cfg_, keys_, ids_.worker_key(), sink_, counters_);
    messages_.emplace(*bus_, keys_);
    bus_->start();
    ASSERT_TRUE(loop_.run_until([&] { return bus_->ready(); }, 10s)) << "the bus never became ready";
  }
  void TearDown() override {
    if (!bus_) return;
    bus_->stop();
    loop_.run_for(100ms);  // lets the bus's loops see the stop and end
  }

  // Publishes on the loop and returns the outcome.
  std::optional<error_code> publish(outbound_message m) {
    return testing::run_task(loop_, [](publisher& p, outbound_message m) -> asio::awaitable<error_code> {
      co_return co_await p.publish(m);
    }(*messages_, m));
  }

  testing::test_loop loop_;
  std::optional<testing::redis_process> redis_;
  config cfg_;
  redis_keys keys_{"sbtest:"};
  protocol::client_id_generator ids_{protocol::make_worker_key()};
  metrics::worker_metrics counters_{};
  kept_deliveries sink_;
  std::optional<bus> bus_;
  std::optional<publisher> messages_;
};

TEST_F(publisher_test, ABroadcastComesBackAsTheFrameEveryoneGets) {
  auto ec = publish({protocol::scope::broadcast, "me.1", {}, R"({"n":1})"});
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec) << ec->message();
  ASSERT_TRUE(loop_.run_until([&] { return !sink_.got.empty(); }, 5s));
  EXPECT_EQ(sink_.got[0].kind, protocol::scope::broadcast);
  EXPECT_EQ(sink_.got[0].frame, protocol::message_frame(protocol::scope::broadcast, "me.1", {}, R"({"n":1})"));
}

TEST_F(publisher_test, ADirectMessageGoesToTheWorkerItsIdNames) {
  std::string to = ids_.next();
  auto ec = publish({protocol::scope::direct, "me.1", to, "\"hi\""});
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec);
  ASSERT_TRUE(loop_.run_until([&] { return !sink_.got.empty(); }, 5s));
  EXPECT_EQ(sink_.got[0].kind, protocol::scope::direct);
  EXPECT_EQ(sink_.got[0].target, to);
  EXPECT_EQ(sink_.got[0].frame, protocol::message_frame(protocol::scope::direct, "me.1", to, "\"hi\""));
  EXPECT_EQ(*keys_.channel_for(protocol::scope::direct, to), keys_.direct_channel(ids_.worker_key()));
}

TEST_F(publisher_test, ADirectMessageToAnIdNoWorkerHandsOutReachesNobody) {
  EXPECT_FALSE(keys_.channel_for(protocol::scope::direct, "not-an-id"));
  EXPECT_FALSE(publisher::reaches_anyone(protocol::scope::direct, "not-an-id"));
  EXPECT_TRUE(publisher::reaches_anyone(protocol::scope::direct, ids_.next()));
  EXPECT_TRUE(publisher::reaches_anyone(protocol::scope::room, "any"));
  auto ec = publish({protocol::scope::direct, "me.1", "not-an-id", "1"});
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec) << "dropped silently, as PROTOCOL.md says";
  loop_.run_for(100ms);
  EXPECT_TRUE(sink_.got.empty());
}

TEST_F(publisher_test, ARoomMessageTravelsOnTheRoomsChannel) {
  EXPECT_EQ(*keys_.channel_for(protocol::scope::room, "lobby"), keys_.room_channel("lobby"));
  // Nobody here subscribed to the room: the broker takes it all the same.
  auto ec = publish({protocol::scope::room, "me.1", "lobby", "null"});
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec);
}

TEST_F(publisher_test, ABatchArrivesWholeAndInOrder) {
  std::vector<std::string> data;
  for (int i = 0; i < 100; ++i) data.push_back(std::to_string(i));
  std::vector<outbound_message> batch;
  for (const auto& d : data) batch.push_back({protocol::scope::broadcast, "server", {}, d});
  batch.push_back({protocol::scope::direct, "server", "not-an-id", "1"});  // reaches nobody: skipped
  auto ec = testing::run_task(loop_, [](publisher& p, std::vector<outbound_message> b) -> asio::awaitable<error_code> {
    co_return co_await p.publish_all(b);
  }(*messages_, batch));
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec);
  ASSERT_TRUE(loop_.run_until([&] { return sink_.got.size() == 100; }, 5s));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(sink_.got[i].frame, protocol::message_frame(protocol::scope::broadcast, "server", {}, data[i]));
}

TEST_F(publisher_test, ADisconnectOrderOnTheControlChannelReachesTheSink) {
  std::string channel = keys_.control_channel();
  redis_->command({"PUBLISH", channel, protocol::encode_disconnect({true, "alice", 4001, "bye"})});
  redis_->command({"PUBLISH", channel, "garbage"});
  ASSERT_TRUE(loop_.run_until([&] { return !sink_.orders.empty(); }, 5s));
  loop_.run_for(100ms);
  EXPECT_EQ(sink_.orders, std::vector<std::string>{"alice"});
  EXPECT_TRUE(sink_.got.empty());
}

TEST_F(publisher_test, WithRedisGoneItSaysUnavailable) {
  redis_->stop();
  ASSERT_TRUE(loop_.run_until([&] { return !bus_->ready(); }, 5s));
  auto ec = publish({protocol::scope::broadcast, "me.1", {}, "1"});
  ASSERT_TRUE(ec.has_value());
  EXPECT_EQ(*ec, make_error_code(redis::errc::unavailable));
}

}  // namespace
}  // namespace switchboard
