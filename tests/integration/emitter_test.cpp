// emit::emitter against the real binary (2 workers, auth on): what a backend
// PUBLISHes straight to Redis reaches the same clients, as the same frames,
// as a client's message would, with "from":"server" (docs/protocol.md,
// "Publishing without HTTP").
#include "common/emit/emitter.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "tests/integration/auth_fixture.hpp"
#include "tests/support/run_task.hpp"

namespace switchboard::testing {
namespace {

const json everything{{"rooms", {"*"}}, {"publish", {"*"}}, {"broadcast", true}};
const json data = json::parse(R"({"text":"h\u00e9llo","n":[1,2.5,null]})");

class emitter_test : public auth_test {
 protected:
  void SetUp() override {
    auth_test::SetUp();
    start_with_auth();
    emitter_.emplace(loop_.context().get_executor(), emit::emitter_options{.redis_url = redis().url()});
  }
  // Publishes on the test's loop, which serves the clients meanwhile.
  void publish(asio::awaitable<error_code> task) {
    auto ec = run_task(loop_, std::move(task));
    ASSERT_TRUE(ec.has_value()) << "the emitter did not answer";
    EXPECT_FALSE(*ec) << ec->message();
  }
  void join(ws_client& client, const std::string& room) {
    client.send_json({{"type", "join"}, {"room", room}, {"ref", 1}});
    ASSERT_EQ(client.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  }

  std::optional<emit::emitter> emitter_;
};

TEST_F(emitter_test, a_room_message_reaches_the_members_on_every_worker_and_nobody_else) {
  ws_client member0 = connect_granted("m0", everything, 0);
  ws_client member1 = connect_granted("m1", everything, 1);
  ws_client outsider = connect_granted("out", everything, 1);
  join(member0, "chat:lobby");
  join(member1, "chat:lobby");

  publish(emitter_->to_room("chat:lobby", data.dump(2)));
  const json expected{{"type", "message"}, {"scope", "room"}, {"from", "server"}, {"room", "chat:lobby"}, {"data", data}};
  EXPECT_EQ(member0.next_of_type("message"), expected);
  EXPECT_EQ(member1.next_of_type("message"), expected);
  expect_quiet(loop_, {&member0, &member1, &outsider});
}

TEST_F(emitter_test, a_user_message_reaches_every_connection_of_the_user_and_so_does_its_personal_room) {
  ws_client alice0 = connect_granted("alice", everything, 0);
  ws_client alice1 = connect_granted("alice", everything, 1);
  ws_client bob = connect_granted("bob", everything, 0);

  publish(emitter_->to_user("alice", R"("for alice")"));
  publish(emitter_->to_room("user:alice", R"("via user:alice")"));
  for (ws_client* alice : {&alice0, &alice1}) {
    for (const char* text : {"for alice", "via user:alice"}) {
      EXPECT_EQ(alice->next_of_type("message"),
                (json{{"type", "message"}, {"scope", "user"}, {"from", "server"}, {"user", "alice"}, {"data", text}}))
          << alice->describe();
    }
  }
  expect_quiet(loop_, {&alice0, &alice1, &bob});
}

TEST_F(emitter_test, a_broadcast_reaches_every_connection_on_both_workers) {
  ws_client a = connect_granted("a", everything, 0);
  ws_client b = connect_granted("b", everything, 1);
  publish(emitter_->broadcast("[1,2,3]"));
  for (ws_client* client : {&a, &b}) {
    EXPECT_EQ(client->next_of_type("message"),
              (json{{"type", "message"}, {"scope", "broadcast"}, {"from", "server"}, {"data", {1, 2, 3}}}))
        << client->describe();
  }
  expect_quiet(loop_, {&a, &b});
}

TEST_F(emitter_test, a_connection_message_reaches_that_connection_alone) {
  ws_client target = connect_granted("t", everything, 1);
  ws_client same_user = connect_granted("t", everything, 0);
  ws_client same_worker = connect_granted("w", everything, 1);
  publish(emitter_->to_connection(target.id(), "null"));
  EXPECT_EQ(target.next_of_type("message"),
            (json{{"type", "message"}, {"scope", "direct"}, {"from", "server"}, {"to", target.id()}, {"data", nullptr}}));
  expect_quiet(loop_, {&target, &same_user, &same_worker});
}

TEST_F(emitter_test, a_batch_arrives_whole_and_in_order) {
  ws_client member = connect_granted("m", everything);
  join(member, "feed");
  std::vector<std::string> texts;
  for (int i = 0; i < 500; ++i) texts.push_back(std::to_string(i));
  std::vector<emit::message> batch;
  for (const auto& text : texts) batch.push_back({protocol::scope::room, "feed", text});
  auto result = run_task(loop_, emitter_->publish_all(batch));
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->error) << result->error.message();
  for (int i = 0; i < 500; ++i) ASSERT_EQ(member.next_of_type("message")["data"], i);
  expect_quiet(loop_, {&member});
}

}  // namespace
}  // namespace switchboard::testing
