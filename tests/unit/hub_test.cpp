// The hub on its own: who a broadcast, a direct message and a room message
// reach, membership in both directions, and that delivery shares one frame.
#include "server/net/hub.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace switchboard {
namespace {

// A recipient that keeps what it was handed.
class kept_frames final : public recipient {
 public:
  explicit kept_frames(std::string id, std::string user = {}) : id_(std::move(id)), user_(std::move(user)) {}
  const std::string& id() const override { return id_; }
  const std::string& user() const override { return user_; }
  void send(std::shared_ptr<const std::string> frame) override { frames.push_back(std::move(frame)); }
  void close(websocket::close_code code, std::string_view) override { closed_with = code; }

  std::vector<std::shared_ptr<const std::string>> frames;
  int closed_with = 0;

 private:
  std::string id_;
  std::string user_;
};

class hub_test : public ::testing::Test {
 protected:
  hub_test() {
    for (auto* c : {&a_, &b_, &c_}) hub_.add(*c);
  }
  ~hub_test() override {
    for (auto* c : {&a_, &b_, &c_}) {
      auto rooms = hub_.rooms_of(*c);  // a copy: leaving edits the list
      for (const auto& room : rooms) hub_.leave(room, *c);
      hub_.remove(*c);
    }
  }

  std::shared_ptr<const std::string> frame(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
  }

  metrics::worker_metrics counters_{};
  hub hub_{counters_};
  // a and c are two connections of alice; b is anonymous.
  kept_frames a_{"a", "alice"}, b_{"b"}, c_{"c", "alice"};
};

TEST_F(hub_test, BroadcastReachesEveryoneWithOneSharedFrame) {
  auto f = frame("hello");
  hub_.deliver(protocol::scope::broadcast, {}, f);
  for (auto* c : {&a_, &b_, &c_}) {
    ASSERT_EQ(c->frames.size(), 1u);
    EXPECT_EQ(c->frames[0].get(), f.get()) << "the frame is shared, not copied";
  }
  EXPECT_EQ(metrics::get(counters_.deliveries[0]), 3u);
}

TEST_F(hub_test, DirectReachesOnlyItsTarget) {
  hub_.deliver(protocol::scope::direct, "b", frame("to b"));
  hub_.deliver(protocol::scope::direct, "nobody", frame("lost"));
  EXPECT_TRUE(a_.frames.empty());
  ASSERT_EQ(b_.frames.size(), 1u);
  EXPECT_EQ(*b_.frames[0], "to b");
  EXPECT_TRUE(c_.frames.empty());
  EXPECT_EQ(metrics::get(counters_.deliveries[1]), 1u);
}

TEST_F(hub_test, UserReachesEveryLocalConnectionOfThatUser) {
  hub_.deliver(protocol::scope::user, "alice", frame("to alice"));
  hub_.deliver(protocol::scope::user, "bob", frame("nobody here"));
  ASSERT_EQ(a_.frames.size(), 1u);
  ASSERT_EQ(c_.frames.size(), 1u);
  EXPECT_EQ(a_.frames[0].get(), c_.frames[0].get());
  EXPECT_TRUE(b_.frames.empty());
  EXPECT_EQ(metrics::get(counters_.deliveries[3]), 2u);
}

TEST_F(hub_test, AConnectionThatLeavesNoLongerHearsItsUser) {
  kept_frames extra("d", "alice");
  hub_.add(extra);
  hub_.remove(extra);
  hub_.remove(a_);
  hub_.deliver(protocol::scope::user, "alice", frame("to alice"));
  EXPECT_TRUE(a_.frames.empty());
  EXPECT_TRUE(extra.frames.empty());
  EXPECT_EQ(c_.frames.size(), 1u);
  hub_.add(a_);  // the fixture removes it again
}

TEST_F(hub_test, MemberEventsReachWatchersButNotTheirSubject) {
  hub_.join("r", a_, true);
  hub_.join("r", b_);
  hub_.join("r", c_, true);
  hub_.deliver(protocol::scope::member, "c r", frame("c joined"));
  hub_.deliver(protocol::scope::member, "x other-room", frame("elsewhere"));
  hub_.deliver(protocol::scope::member, "malformed", frame("dropped"));
  ASSERT_EQ(a_.frames.size(), 1u);
  EXPECT_EQ(*a_.frames[0], "c joined");
  EXPECT_TRUE(b_.frames.empty()) << "b did not ask for events";
  EXPECT_TRUE(c_.frames.empty()) << "nobody hears of itself";
  hub_.leave("r", a_);
  hub_.deliver(protocol::scope::member, "b r", frame("b left"));
  EXPECT_EQ(a_.frames.size(), 1u) << "a left the room, and its watching with it";
  ASSERT_EQ(c_.frames.size(), 1u);
}

TEST_F(hub_test, RoomReachesItsMembersOnly) {
  hub_.join("r", a_);
  hub_.join("r", c_);
  hub_.deliver(protocol::scope::room, "r", frame("in r"));
  hub_.deliver(protocol::scope::room, "empty", frame("nobody"));
  EXPECT_EQ(a_.frames.size(), 1u);
  EXPECT_TRUE(b_.frames.empty());
  EXPECT_EQ(c_.frames.size(), 1u);
}

TEST_F(hub_test, JoinAndLeaveSayFirstAndLast) {
  EXPECT_TRUE(hub_.join("r", a_));
  EXPECT_FALSE(hub_.join("r", b_));
  EXPECT_FALSE(hub_.leave("r", a_));
  EXPECT_FALSE(hub_.leave("r", a_)) << "leaving a room one is not in does nothing";
  EXPECT_TRUE(hub_.leave("r", b_));
  EXPECT_TRUE(hub_.rooms().empty());
}

TEST_F(hub_test, MembershipIsKeptInBothDirections) {
  hub_.join("x", a_);
  hub_.join("y", a_);
  hub_.join("y", b_);
  EXPECT_EQ(hub_.rooms_of(a_), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(hub_.is_member("y", b_));
  EXPECT_FALSE(hub_.is_member("x", b_));
  EXPECT_EQ(hub_.rooms().at("y").size(), 2u);
  EXPECT_EQ(hub_.rooms().count("none"), 0u);
  hub_.leave("x", a_);
  EXPECT_EQ(hub_.rooms_of(a_), (std::vector<std::string>{"y"}));
}

TEST_F(hub_test, CloseAllClosesEveryone) {
  hub_.close_all(websocket::close_code::going_away, "bye");
  for (auto* c : {&a_, &b_, &c_}) EXPECT_EQ(c->closed_with, 1001);
}

TEST_F(hub_test, RemovedRecipientsGetNothing) {
  kept_frames d{"d"};
  hub_.add(d);
  hub_.remove(d);
  hub_.deliver(protocol::scope::broadcast, {}, frame("x"));
  hub_.deliver(protocol::scope::direct, "d", frame("y"));
  EXPECT_TRUE(d.frames.empty());
  EXPECT_EQ(hub_.size(), 3u);
}

TEST_F(hub_test, AHeldMemberGetsTheRoomsMessagesOnlyAtReleaseAndOnlyThoseAfterTheRead) {
  hub_.join("chat", a_);
  hub_.join("chat", b_);
  hub_.hold("chat", a_, 1 << 20);
  EXPECT_TRUE(hub_.is_held("chat", a_));
  hub_.deliver(protocol::scope::room, "chat", frame("4"), 4);
  hub_.deliver(protocol::scope::room, "chat", frame("5"), 5);
  hub_.deliver(protocol::scope::room, "chat", frame("unstored"), 0);
  hub_.deliver(protocol::scope::room, "chat", frame("6"), 6);
  EXPECT_TRUE(a_.frames.empty());
  EXPECT_EQ(b_.frames.size(), 4u) << "only the held member waits";
  // The read gave everything up to 5: 4 and 5 would be duplicates.
  hub_.release("chat", a_, 5);
  EXPECT_FALSE(hub_.is_held("chat", a_));
  ASSERT_EQ(a_.frames.size(), 2u);
  EXPECT_EQ(*a_.frames[0], "unstored");
  EXPECT_EQ(*a_.frames[1], "6");
  hub_.deliver(protocol::scope::room, "chat", frame("7"), 7);
  EXPECT_EQ(a_.frames.size(), 3u) << "live again after the release";
}

TEST_F(hub_test, APersonalRoomIsHeldByItsName) {
  hub_.hold("user:alice", a_, 1 << 20);
  hub_.deliver(protocol::scope::user, "alice", frame("1"), 1);
  hub_.deliver(protocol::scope::user, "alicex", frame("other"), 1);
  EXPECT_TRUE(a_.frames.empty());
  EXPECT_EQ(c_.frames.size(), 1u) << "the user's other connection is not held";
  hub_.release("user:alice", a_, 0);
  ASSERT_EQ(a_.frames.size(), 1u);
  EXPECT_EQ(*a_.frames[0], "1");
}

TEST_F(hub_test, LeavingTheRoomOrTheHubEndsAHold) {
  hub_.join("chat", a_);
  hub_.hold("chat", a_, 1 << 20);
  hub_.deliver(protocol::scope::room, "chat", frame("1"), 1);
  hub_.leave("chat", a_);
  EXPECT_FALSE(hub_.is_held("chat", a_));
  hub_.release("chat", a_, 0);
  EXPECT_TRUE(a_.frames.empty()) << "what was held for a room it left is dropped";
  hub_.hold("user:alice", c_, 1 << 20);
  hub_.remove(c_);
  EXPECT_FALSE(hub_.is_held("user:alice", c_));
  hub_.add(c_);  // the fixture removes it again
}

TEST_F(hub_test, AHoldPastItsLimitClosesTheMemberAsASlowConsumer) {
  hub_.join("chat", a_);
  hub_.hold("chat", a_, 10);
  hub_.deliver(protocol::scope::room, "chat", frame("12345"), 1);
  EXPECT_EQ(a_.closed_with, 0);
  hub_.deliver(protocol::scope::room, "chat", frame("123456"), 2);
  EXPECT_EQ(a_.closed_with, websocket::close_code::policy_error);
  EXPECT_FALSE(hub_.is_held("chat", a_));
}

}  // namespace
}  // namespace switchboard
