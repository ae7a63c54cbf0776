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
  std::uint64_t offset;
};

class kept_deliveries final : public delivery_sink {
 public:
  void deliver(protocol::scope kind, std::string_view target, const std::shared_ptr<const std::string>& frame,
               std::uint64_t offset) override {
    got.push_back({kind, std::string(target), *frame, offset});
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
    cfg_.history_rooms = "chat:*, user:*";
    cfg_.history_size = 3;
    bus_.emplace(loop_.context().get_executor(), cfg_, keys_, ids_.worker_key(), sink_, counters_);
    history_.emplace(*bus_, keys_, cfg_);
    messages_.emplace(*bus_, *history_, keys_, counters_);
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
    auto result = publish_stored(m);
    if (!result) return std::nullopt;
    return result->ec;
  }
  std::optional<publish_result> publish_stored(outbound_message m) {
    return testing::run_task(loop_, [](publisher& p, outbound_message m) -> asio::awaitable<publish_result> {
      co_return co_await p.publish(m);
    }(*messages_, m));
  }
  std::optional<history_store::read_result> recover(std::string room, std::optional<protocol::stream_position> since) {
    return testing::run_task(loop_, [](history_store& h, std::string room, std::optional<protocol::stream_position> since)
                                        -> asio::awaitable<history_store::read_result> {
      co_return co_await h.recover(room, since);
    }(*history_, room, since));
  }
  std::optional<history_store::read_result> page(std::string room, std::optional<protocol::stream_position> since,
                                                 std::size_t limit) {
    return testing::run_task(loop_, [](history_store& h, std::string room, std::optional<protocol::stream_position> since,
                                       std::size_t limit) -> asio::awaitable<history_store::read_result> {
      co_return co_await h.page(room, since, limit);
    }(*history_, room, since, limit));
  }
  // Publishes `n` room messages to `room` with data 1..n.
  void publish_numbered(const std::string& room, int n) {
    for (int i = 1; i <= n; ++i) {
      std::string data = std::to_string(i);
      auto ec = publish({protocol::scope::room, "me.1", room, data});
      ASSERT_TRUE(ec.has_value() && !*ec);
    }
  }

  testing::test_loop loop_;
  std::optional<testing::redis_process> redis_;
  config cfg_;
  redis_keys keys_{"sbtest:"};
  protocol::client_id_generator ids_{protocol::make_worker_key()};
  metrics::worker_metrics counters_{};
  kept_deliveries sink_;
  std::optional<bus> bus_;
  std::optional<history_store> history_;
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
    std::vector<std::optional<protocol::stream_position>> stored;
    co_return co_await p.publish_all(b, stored);
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

TEST_F(publisher_test, ARoomWithHistoryCountsItsMessagesAndDeliversThemWithTheirPlace) {
  auto first = publish_stored({protocol::scope::room, "me.1", "chat:a", "\"x\""});
  auto second = publish_stored({protocol::scope::room, "me.1", "chat:a", "\"y\""});
  ASSERT_TRUE(first && second && !first->ec && !second->ec);
  ASSERT_TRUE(first->stored && second->stored);
  EXPECT_EQ(first->stored->offset, 1u);
  EXPECT_EQ(second->stored->offset, 2u);
  EXPECT_EQ(first->stored->epoch, second->stored->epoch);
  EXPECT_EQ(first->stored->epoch.size(), 16u);
  EXPECT_EQ(counters_.history_appends.load(), 2u);
  // Nothing subscribed here to chat:a: the stream has them all the same.
  EXPECT_EQ(redis_->command({"XLEN", keys_.history_stream("chat:a")}), "2");
  EXPECT_EQ(redis_->command({"HGET", keys_.history_meta("chat:a"), "offset"}), "2");
  auto ttl = std::stoi(redis_->command({"TTL", keys_.history_stream("chat:a")}));
  EXPECT_GT(ttl, 500);
  EXPECT_LE(ttl, 600);
}

TEST_F(publisher_test, AStoredMessageReachesTheSinkWithItsOffsetInTheEnvelope) {
  auto subscribed = testing::run_task(loop_, [](bus& b, std::string channel) -> asio::awaitable<error_code> {
    co_return co_await b.subscriber().subscribe(channel);
  }(*bus_, keys_.room_channel("chat:b")));
  ASSERT_TRUE(subscribed && !*subscribed);
  auto stored = publish_stored({protocol::scope::room, "me.1", "chat:b", "7", "ann"});
  ASSERT_TRUE(stored && stored->stored);
  ASSERT_TRUE(loop_.run_until([&] { return !sink_.got.empty(); }, 5s));
  EXPECT_EQ(sink_.got[0].kind, protocol::scope::room);
  EXPECT_EQ(sink_.got[0].target, "chat:b");
  EXPECT_EQ(sink_.got[0].offset, 1u);
  EXPECT_EQ(sink_.got[0].frame, protocol::message_frame_head(protocol::scope::room, "me.1", "chat:b", "7", "ann") +
                                     ",\"offset\":1,\"epoch\":\"" + stored->stored->epoch + "\"}");
}

TEST_F(publisher_test, AUserMessageIsStoredInThePersonalRoom) {
  auto stored = publish_stored({protocol::scope::user, "me.1", "alice", "1"});
  ASSERT_TRUE(stored && stored->stored);
  EXPECT_EQ(redis_->command({"XLEN", keys_.history_stream("user:alice")}), "1");
}

TEST_F(publisher_test, ARoomWithoutHistoryLeavesNoKeysAndNoOffset) {
  auto stored = publish_stored({protocol::scope::room, "me.1", "lobby", "1"});
  ASSERT_TRUE(stored && !stored->ec);
  EXPECT_FALSE(stored->stored);
  EXPECT_EQ(redis_->command({"EXISTS", keys_.history_stream("lobby")}), "0");
  EXPECT_EQ(redis_->command({"EXISTS", keys_.history_meta("lobby")}), "0");
}

TEST_F(publisher_test, ABatchStoresItsHistoryMessagesInOrder) {
  std::vector<outbound_message> batch{{protocol::scope::room, "server", "chat:c", "1"},
                                      {protocol::scope::broadcast, "server", {}, "2"},
                                      {protocol::scope::room, "server", "chat:c", "3"}};
  auto stored = testing::run_task(loop_, [](publisher& p, std::vector<outbound_message> b)
                                             -> asio::awaitable<std::vector<std::optional<protocol::stream_position>>> {
    std::vector<std::optional<protocol::stream_position>> stored;
    auto ec = co_await p.publish_all(b, stored);
    EXPECT_FALSE(ec);
    co_return stored;
  }(*messages_, batch));
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 3u);
  ASSERT_TRUE((*stored)[0] && (*stored)[2]);
  EXPECT_FALSE((*stored)[1]);
  EXPECT_EQ((*stored)[0]->offset, 1u);
  EXPECT_EQ((*stored)[2]->offset, 2u);
}

TEST_F(publisher_test, RecoveryGivesEveryMessageAfterSinceInTheSameEpoch) {
  publish_numbered("chat:r", 3);
  auto start = recover("chat:r", std::nullopt);
  ASSERT_TRUE(start && !start->ec);
  EXPECT_EQ(start->now.offset, 3u);
  EXPECT_FALSE(start->outcome);
  auto read = recover("chat:r", protocol::stream_position{1, start->now.epoch});
  ASSERT_TRUE(read && !read->ec);
  EXPECT_EQ(read->outcome, protocol::recovery_outcome::recovered);
  ASSERT_EQ(read->frames.size(), 2u);
  EXPECT_NE(read->frames[0].find("\"data\":2,\"offset\":2"), std::string::npos) << read->frames[0];
  EXPECT_NE(read->frames[1].find("\"data\":3,\"offset\":3"), std::string::npos) << read->frames[1];
  auto current = recover("chat:r", protocol::stream_position{3, start->now.epoch});
  ASSERT_TRUE(current);
  EXPECT_EQ(current->outcome, protocol::recovery_outcome::recovered);
  EXPECT_TRUE(current->frames.empty());
}

TEST_F(publisher_test, RecoveryFailsForAnotherEpochOrAPositionNoLongerKept) {
  publish_numbered("chat:s", 5);  // keeps 3: offsets 3, 4, 5
  auto now = recover("chat:s", std::nullopt);
  ASSERT_TRUE(now);
  auto other = recover("chat:s", protocol::stream_position{4, "0123456789abcdef"});
  EXPECT_EQ(other->outcome, protocol::recovery_outcome::epoch_changed);
  EXPECT_TRUE(other->frames.empty());
  auto ahead = recover("chat:s", protocol::stream_position{9, now->now.epoch});
  EXPECT_EQ(ahead->outcome, protocol::recovery_outcome::epoch_changed);
  auto old = recover("chat:s", protocol::stream_position{1, now->now.epoch});
  EXPECT_EQ(old->outcome, protocol::recovery_outcome::too_old);
  EXPECT_TRUE(old->frames.empty());
  auto oldest_kept = recover("chat:s", protocol::stream_position{2, now->now.epoch});
  EXPECT_EQ(oldest_kept->outcome, protocol::recovery_outcome::recovered);
  EXPECT_EQ(oldest_kept->frames.size(), 3u);
}

TEST_F(publisher_test, LostHistoryStartsANewEpoch) {
  publish_numbered("chat:t", 2);
  auto before = recover("chat:t", std::nullopt);
  redis_->command({"DEL", keys_.history_stream("chat:t")});
  auto after = recover("chat:t", protocol::stream_position{2, before->now.epoch});
  ASSERT_TRUE(after && !after->ec);
  EXPECT_EQ(after->outcome, protocol::recovery_outcome::epoch_changed);
  EXPECT_NE(after->now.epoch, before->now.epoch);
  EXPECT_EQ(after->now.offset, 0u);
  auto next = publish_stored({protocol::scope::room, "me.1", "chat:t", "1"});
  EXPECT_EQ(next->stored->offset, 1u);
  EXPECT_EQ(next->stored->epoch, after->now.epoch);
}

TEST_F(publisher_test, APageIsTheNewestOrTheOnesAfterSince) {
  publish_numbered("chat:p", 3);
  auto newest = page("chat:p", std::nullopt, 2);
  ASSERT_TRUE(newest && !newest->ec);
  ASSERT_EQ(newest->frames.size(), 2u);
  EXPECT_NE(newest->frames[0].find("\"offset\":2"), std::string::npos);
  EXPECT_NE(newest->frames[1].find("\"offset\":3"), std::string::npos);
  auto after = page("chat:p", protocol::stream_position{1, newest->now.epoch}, 1);
  ASSERT_EQ(after->frames.size(), 1u);
  EXPECT_NE(after->frames[0].find("\"offset\":2"), std::string::npos);
  // Of another epoch, every kept message is after it.
  auto foreign = page("chat:p", protocol::stream_position{2, "ffff"}, 0);
  EXPECT_EQ(foreign->frames.size(), 3u);
  auto empty = page("chat:empty", std::nullopt, 0);
  ASSERT_TRUE(empty && !empty->ec);
  EXPECT_TRUE(empty->frames.empty());
  EXPECT_EQ(empty->now.offset, 0u);
}

TEST_F(publisher_test, AStoredMessageIsRefusedWhileRedisIsGone) {
  redis_->stop();
  ASSERT_TRUE(loop_.run_until([&] { return !bus_->ready(); }, 5s));
  auto stored = publish_stored({protocol::scope::room, "me.1", "chat:a", "1"});
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->ec, make_error_code(redis::errc::unavailable));
  EXPECT_FALSE(stored->stored);
}

}  // namespace
}  // namespace switchboard
