// Users (PROTOCOL.md, "Client to server", v2): personal rooms and direct
// messages to a user, against the real binary with 2 workers and a second
// node on the same Redis. Every connection of a user hears what is sent to
// the user, once; nobody else joins the user's personal room.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/auth_fixture.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;

const json everything{{"rooms", {"*"}}, {"publish", {"*"}}, {"broadcast", true}};

class users_test : public auth_test {
 protected:
  // A second node of the same cluster, with the same key.
  node_process& start_second_node() {
    second_.emplace(switchboard_binary, redis(),
                    node_options{.node = "second", .extra_flags = {"--auth-secret", test_auth_secret}});
    return *second_;
  }
  ws_client connect_to_second(const std::string& sub, int worker) {
    return connect_on_worker(loop_, second_->ws_url() + "?token=" + mint_hs256(claims_for(sub, 3600, everything)),
                             worker, {});
  }

  std::optional<node_process> second_;
};

TEST_F(users_test, a_direct_to_a_user_reaches_each_of_its_connections_once_on_every_worker_and_node) {
  start_with_auth();
  start_second_node();
  ws_client alice0 = connect_granted("alice", everything, 0);
  ws_client alice1 = connect_granted("alice", everything, 1);
  ws_client alice_far = connect_to_second("alice", 0);
  ws_client bob = connect_granted("bob", everything, 0);
  ws_client carol = connect_to_second("carol", 1);

  bob.send_json({{"type", "direct"}, {"user", "alice"}, {"ref", 1}, {"data", "hi alice"}});
  EXPECT_EQ(bob.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  // A room message to user:alice is the same thing.
  carol.send_json({{"type", "room"}, {"room", "user:alice"}, {"ref", 2}, {"data", "from carol"}});
  EXPECT_EQ(carol.next_answer(), (json{{"type", "ack"}, {"ref", 2}}));

  for (ws_client* alice : {&alice0, &alice1, &alice_far}) {
    json first = alice->next_of_type("message");
    json second = alice->next_of_type("message");
    // Two senders: either order.
    if (first["data"] != "hi alice") std::swap(first, second);
    EXPECT_EQ(first, (json{{"type", "message"},
                           {"scope", "user"},
                           {"from", bob.id()},
                           {"from_user", "bob"},
                           {"user", "alice"},
                           {"data", "hi alice"}}))
        << alice->describe();
    EXPECT_EQ(second["from_user"], "carol");
    EXPECT_EQ(second["scope"], "user");
  }
  expect_quiet(loop_, {&alice0, &alice1, &alice_far, &bob, &carol});
}

TEST_F(users_test, a_direct_to_a_user_with_no_connection_is_acked_and_dropped) {
  start_with_auth();
  ws_client bob = connect_granted("bob", everything);
  bob.send_json({{"type", "direct"}, {"user", "nobody-here"}, {"ref", 1}, {"data", 1}});
  EXPECT_EQ(bob.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  expect_quiet(loop_, {&bob});
}

TEST_F(users_test, only_its_user_may_join_or_leave_a_personal_room) {
  start_with_auth();
  ws_client alice = connect_granted("alice", everything, 0);
  ws_client mallory = connect_granted("mallory", everything, 1);
  for (const char* type : {"join", "leave"}) {
    mallory.send_json({{"type", type}, {"room", "user:alice"}, {"ref", 1}});
    json answer = mallory.next_answer();
    EXPECT_EQ(answer.value("code", ""), "forbidden") << type << ": " << answer.dump();
    EXPECT_EQ(answer.value("ref", -1), 1);
  }
  // Its own: acknowledged, and it stays a member either way.
  alice.send_json({{"type", "join"}, {"room", "user:alice"}, {"ref", 2}});
  EXPECT_EQ(alice.next_answer(), (json{{"type", "ack"}, {"ref", 2}}));
  alice.send_json({{"type", "leave"}, {"room", "user:alice"}, {"ref", 3}});
  EXPECT_EQ(alice.next_answer(), (json{{"type", "ack"}, {"ref", 3}}));
  mallory.send_json({{"type", "direct"}, {"user", "alice"}, {"ref", 4}, {"data", "still here?"}});
  EXPECT_EQ(mallory.next_answer(), (json{{"type", "ack"}, {"ref", 4}}));
  EXPECT_EQ(alice.next_of_type("message")["data"], "still here?");
  expect_quiet(loop_, {&alice, &mallory});
}

TEST_F(users_test, the_direct_claim_governs_messages_to_users) {
  start_with_auth();
  ws_client alice = connect_granted("alice", everything);
  ws_client quiet = connect_granted("quiet", {{"publish", {"*"}}, {"direct", false}});
  quiet.send_json({{"type", "direct"}, {"user", "alice"}, {"ref", 1}, {"data", 1}});
  EXPECT_EQ(quiet.next_answer().value("code", ""), "forbidden");
  // publish ["*"] does not open user:alice: that is the direct claim's.
  quiet.send_json({{"type", "room"}, {"room", "user:alice"}, {"ref", 2}, {"data", 2}});
  EXPECT_EQ(quiet.next_answer().value("code", ""), "forbidden");
  expect_quiet(loop_, {&alice});
}

TEST_F(users_test, personal_rooms_cost_redis_nothing_and_leave_nothing_behind) {
  start_with_auth();
  {
    ws_client alice = connect_granted("alice", everything, 0);
    ws_client again = connect_granted("alice", everything, 1);
    alice.send_json({{"type", "presence"}, {"room", "user:alice"}, {"ref", 1}});
    EXPECT_EQ(alice.next_answer().value("code", ""), "bad_request") << "personal rooms keep no presence list";
  }
  // No channel or key of a personal room exists in Redis, open or closed.
  EXPECT_EQ(redis().command({"PUBSUB", "CHANNELS", "*user:*"}), "[]");
  EXPECT_EQ(redis().command({"KEYS", "*user:*"}), "[]");
}

TEST_F(cluster_test, anonymous_connections_have_no_personal_room) {
  start_server();
  ws_client a = connect();
  a.send_json({{"type", "join"}, {"room", "user:alice"}, {"ref", 1}});
  EXPECT_EQ(a.next_answer().value("code", ""), "forbidden");
  a.send_json({{"type", "direct"}, {"user", "alice"}, {"ref", 2}, {"data", 1}});
  EXPECT_EQ(a.next_answer(), (json{{"type", "ack"}, {"ref", 2}}));
}

}  // namespace
}  // namespace switchboard::testing
