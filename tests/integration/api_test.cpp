// The backend API (PROTOCOL.md, "Backend API"), against the real binary with
// 2 workers (a second node where it matters) and a real redis-server: every
// route and every error status, batches in order and all or nothing,
// presence with users, disconnect across nodes, stats, and the API's own
// listener.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/auth_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string api_key = "api-test-key-0123456789";

class api_test : public auth_test {
 protected:
  // A node with the API (and, with `auth`, client tokens).
  void start_with_api(bool auth = false, std::vector<std::string> more = {}) {
    std::vector<std::string> flags{"--api-key", api_key};
    if (auth) flags.insert(flags.end(), {"--auth-secret", test_auth_secret});
    flags.insert(flags.end(), more.begin(), more.end());
    start_server({.extra_flags = flags});
  }
  http_response call(std::string_view method, std::string_view target, const json& body = nullptr,
                     std::uint16_t port = 0, std::string key = api_key) {
    http_headers headers{{"Content-Type", "application/json"}};
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    return http_request(port ? port : server().port(), method, target, headers,
                        body.is_null() ? std::string() : body.dump(), 10s);
  }
  static json body_of(const http_response& res) { return json::parse(res.body, nullptr, false); }
  void expect_error(const http_response& res, unsigned status, const std::string& code) {
    EXPECT_EQ(res.status, status) << res.body << res.error;
    EXPECT_EQ(res.content_type, "application/json");
    json body = body_of(res);
    EXPECT_EQ(body.value("ok", true), false) << res.body;
    EXPECT_EQ(body.value("error", ""), code) << res.body;
  }
};

TEST_F(api_test, without_a_key_every_api_route_is_404) {
  start_server();
  EXPECT_EQ(call("GET", "/api/stats").status, 404u);
  EXPECT_EQ(call("POST", "/api/publish", {{"scope", "broadcast"}, {"data", 1}}).status, 404u);
}

TEST_F(api_test, every_route_needs_the_key) {
  start_with_api();
  for (const auto& key : {std::string(), std::string("wrong-key-0123456789"), api_key + "x"}) {
    auto res = call("GET", "/api/stats", nullptr, 0, key);
    expect_error(res, 401, "unauthorized");
    EXPECT_EQ(res.headers["www-authenticate"], "Bearer");
  }
}

TEST_F(api_test, publish_reaches_clients_in_every_scope) {
  start_with_api(true);
  const json everything{{"rooms", {"*"}}};
  ws_client alice0 = connect_granted("alice", everything, 0);
  ws_client alice1 = connect_granted("alice", everything, 1);
  ws_client bob = connect_granted("bob", everything, 1);
  bob.send_json({{"type", "join"}, {"room", "news"}, {"ref", 1}});
  ASSERT_EQ(bob.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));

  auto res = call("POST", "/api/publish", {{"scope", "room"}, {"room", "news"}, {"data", {{"headline", 1}}}});
  EXPECT_EQ(res.status, 202u) << res.body;
  EXPECT_EQ(body_of(res), (json{{"ok", true}}));
  EXPECT_EQ(bob.next_of_type("message"), (json{{"type", "message"},
                                               {"scope", "room"},
                                               {"from", "server"},
                                               {"room", "news"},
                                               {"data", {{"headline", 1}}}}));
  EXPECT_EQ(call("POST", "/api/publish", {{"scope", "user"}, {"user", "alice"}, {"data", "for alice"}}).status, 202u);
  for (ws_client* alice : {&alice0, &alice1}) {
    json got = alice->next_of_type("message");
    EXPECT_EQ(got["scope"], "user");
    EXPECT_EQ(got["user"], "alice");
    EXPECT_EQ(got["from"], "server");
    EXPECT_FALSE(got.contains("from_user"));
  }
  EXPECT_EQ(call("POST", "/api/publish", {{"scope", "direct"}, {"to", bob.id()}, {"data", 3}}).status, 202u);
  EXPECT_EQ(bob.next_of_type("message")["scope"], "direct");
  EXPECT_EQ(call("POST", "/api/publish", {{"scope", "broadcast"}, {"data", 4}}).status, 202u);
  for (ws_client* c : {&alice0, &alice1, &bob}) EXPECT_EQ(c->next_of_type("message")["data"], 4);
  expect_quiet(loop_, {&alice0, &alice1, &bob});
}

TEST_F(api_test, bad_requests_get_400_and_publish_nothing) {
  start_with_api();
  ws_client watcher = connect();
  const std::pair<std::string, json> bad[] = {
      {"{not json", nullptr},
      {"", json{{"data", 1}}},
      {"", json{{"scope", "shout"}, {"data", 1}}},
      {"", json{{"scope", "broadcast"}}},
      {"", json{{"scope", "room"}, {"room", ""}, {"data", 1}}},
      {"", json{{"scope", "direct"}, {"to", "not an id"}, {"data", 1}}},
      {"", json{{"scope", "user"}, {"data", 1}}},
      {"", json::array()},
      {"", 7},
  };
  for (const auto& [raw, body] : bad) {
    http_headers headers{{"Authorization", "Bearer " + api_key}};
    auto res = http_request(server().port(), "POST", "/api/publish", headers, raw.empty() ? body.dump() : raw);
    expect_error(res, 400, "bad_request");
  }
  expect_quiet(loop_, {&watcher});
}

TEST_F(api_test, a_batch_is_published_in_order_or_not_at_all) {
  start_with_api();
  ws_client member = connect_on(1);
  member.send_json({{"type", "join"}, {"room", "r"}, {"ref", 1}});
  ASSERT_EQ(member.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));

  json batch = json::array();
  for (int i = 0; i < 1000; ++i) batch.push_back({{"scope", "room"}, {"room", "r"}, {"data", i}});
  // One bad item anywhere: nothing goes, and the answer says where.
  json spoiled = batch;
  spoiled[500] = {{"scope", "room"}, {"room", "r"}};
  auto refused = call("POST", "/api/publish", spoiled);
  expect_error(refused, 400, "bad_request");
  EXPECT_EQ(body_of(refused).value("index", -1), 500);
  expect_quiet(loop_, {&member});

  auto res = call("POST", "/api/publish", batch);
  EXPECT_EQ(res.status, 202u) << res.body;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(member.next_of_type("message")["data"], i) << "out of order";
  batch.push_back(batch[0]);
  expect_error(call("POST", "/api/publish", batch), 400, "bad_request");
}

TEST_F(api_test, unknown_routes_wrong_methods_and_large_bodies) {
  start_with_api(false, {"--api-max-body-bytes", "1KiB"});
  expect_error(call("GET", "/api/nothing"), 404, "not_found");
  auto wrong = call("GET", "/api/publish");
  expect_error(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong.headers["allow"], "POST");
  expect_error(call("POST", "/api/stats"), 405, "method_not_allowed");
  expect_error(call("POST", "/api/publish", {{"scope", "broadcast"}, {"data", std::string(2000, 'x')}}), 413,
               "too_large");
  expect_error(call("GET", "/api/history?room=r"), 404, "not_found");  // r keeps no history
  auto metrics = parse_exposition(http_get(server().port(), "/metrics").body);
  EXPECT_TRUE(metrics.problems.empty());
  double not_allowed = 0;
  for (int w = 0; w < 2; ++w)
    not_allowed += metrics.value("switchboard_api_requests_total", "test-node", w, "route=\"publish\",status=\"405\"");
  EXPECT_EQ(not_allowed, 1);
}

TEST_F(api_test, publish_answers_503_while_redis_is_down) {
  start_with_api();
  redis().stop();
  auto res = call("POST", "/api/publish", {{"scope", "broadcast"}, {"data", 1}});
  expect_error(res, 503, "unavailable");
  expect_error(call("GET", "/api/presence?room=r"), 503, "unavailable");
}

TEST_F(api_test, presence_lists_members_with_their_users) {
  start_with_api(true);
  ws_client alice = connect_granted("alice", {{"rooms", {"*"}}}, 0);
  ws_client bob = connect_granted("bob", {{"rooms", {"*"}}}, 1);
  for (ws_client* c : {&alice, &bob}) {
    c->send_json({{"type", "join"}, {"room", "r"}, {"ref", 1}});
    ASSERT_EQ(c->next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  }
  auto res = call("GET", "/api/presence?room=r");
  ASSERT_EQ(res.status, 200u) << res.body;
  json body = body_of(res);
  EXPECT_EQ(body["room"], "r");
  std::set<std::pair<std::string, std::string>> members;
  for (const auto& m : body["members"]) members.emplace(m["id"], m["user"]);
  EXPECT_EQ(members, (std::set<std::pair<std::string, std::string>>{{alice.id(), "alice"}, {bob.id(), "bob"}}));
  // The client's presence answer names the users too.
  alice.send_json({{"type", "presence"}, {"room", "r"}, {"ref", 2}});
  json answer = alice.next_answer();
  EXPECT_EQ(answer["users"], (json{"alice", "bob"}));
  expect_error(call("GET", "/api/presence"), 400, "bad_request");
}

TEST_F(api_test, disconnect_by_user_closes_its_connections_on_every_node) {
  start_with_api(true);
  node_process second(switchboard_binary, redis(),
                      {.node = "second", .extra_flags = {"--auth-secret", test_auth_secret, "--api-key", api_key}});
  std::string token = mint_hs256(claims_for("alice"));
  ws_client here0 = connect_as(token, 0);
  ws_client here1 = connect_as(token, 1);
  ws_client there = connect_on_worker(loop_, second.ws_url() + "?token=" + token, 0, {});
  ws_client bob = connect_granted("bob", json::object(), 0);

  auto res = call("POST", "/api/disconnect", {{"user", "alice"}, {"code", 4003}, {"reason", "banned"}});
  EXPECT_EQ(res.status, 200u) << res.body;
  for (ws_client* c : {&here0, &here1, &there}) {
    ASSERT_TRUE(c->wait_closed(10s)) << c->describe();
    EXPECT_EQ(c->close_code(), 4003);
    EXPECT_EQ(c->close_reason(), "banned");
  }
  EXPECT_TRUE(bob.is_open());
  // By id, with the default code.
  EXPECT_EQ(call("POST", "/api/disconnect", {{"id", bob.id()}}, second.port()).status, 200u);
  ASSERT_TRUE(bob.wait_closed(10s));
  EXPECT_EQ(bob.close_code(), 4000);
  for (const json& bad : {json{{"user", "a"}, {"id", "b.1"}}, json::object(), json{{"user", "a"}, {"code", 1000}},
                          json{{"id", "not an id"}}, json{{"user", "a"}, {"reason", std::string(200, 'r')}}})
    expect_error(call("POST", "/api/disconnect", bad), 400, "bad_request");
}

TEST_F(api_test, stats_count_nodes_workers_connections_and_rooms) {
  start_with_api();
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  ws_client c = connect_on(1);
  a.send_json({{"type", "join"}, {"room", "x"}, {"ref", 1}});
  ASSERT_EQ(a.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  // The counts travel with the heartbeat, a third of --liveness-seconds.
  json body;
  ASSERT_TRUE(loop_.run_until(
      [&] {
        body = body_of(call("GET", "/api/stats"));
        return body.value("connections", 0) == 3;
      },
      10s))
      << body.dump();
  EXPECT_EQ(body["ok"], true);
  EXPECT_EQ(body["rooms"], 1);
  EXPECT_EQ(body["nodes"], (json{{{"node", "test-node"},
                                  {"workers", {{{"worker", 0}, {"connections", 1}}, {{"worker", 1}, {"connections", 2}}}}}}));
}

TEST_F(api_test, an_api_listener_of_its_own_takes_the_api_off_the_public_port) {
  std::uint16_t api_port = free_tcp_port();
  start_with_api(false, {"--api-port", std::to_string(api_port), "--api-bind", "127.0.0.1"});
  EXPECT_EQ(call("GET", "/api/stats", nullptr, api_port).status, 200u);
  EXPECT_EQ(call("GET", "/api/stats").status, 404u) << "the public port serves no API";
  EXPECT_EQ(http_get(api_port, "/healthz").status, 404u) << "the API port serves the API alone";
  EXPECT_EQ(http_get(server().port(), "/healthz").status, 200u);
}

TEST_F(api_test, publishing_to_a_room_with_history_answers_its_place_and_history_pages_it) {
  start_with_api(false, {"--history-rooms", "chat:*", "--history-size", "3"});
  auto first = call("POST", "/api/publish", {{"scope", "room"}, {"room", "chat:api"}, {"data", 1}});
  EXPECT_EQ(first.status, 202u) << first.body;
  EXPECT_EQ(body_of(first)["offset"], 1);
  std::string epoch = body_of(first)["epoch"];
  auto batch = call("POST", "/api/publish",
                    json::array({{{"scope", "room"}, {"room", "chat:api"}, {"data", 2}},
                                 {{"scope", "broadcast"}, {"data", "x"}},
                                 {{"scope", "room"}, {"room", "chat:api"}, {"data", 3}},
                                 {{"scope", "room"}, {"room", "chat:api"}, {"data", 4}}}));
  EXPECT_EQ(batch.status, 202u) << batch.body;
  EXPECT_EQ(body_of(batch)["positions"],
            json::parse(R"([{"offset":2,"epoch":")" + epoch + R"("},null,{"offset":3,"epoch":")" + epoch +
                        R"("},{"offset":4,"epoch":")" + epoch + R"("}])"));
  auto plain = call("POST", "/api/publish", {{"scope", "room"}, {"room", "lobby"}, {"data", 1}});
  EXPECT_EQ(body_of(plain), json::parse(R"({"ok":true})")) << "no place for a room without history";

  auto newest = call("GET", "/api/history?room=chat%3Aapi&limit=2");
  ASSERT_EQ(newest.status, 200u) << newest.body;
  auto page = body_of(newest);
  EXPECT_EQ(page["room"], "chat:api");
  EXPECT_EQ(page["offset"], 4);
  EXPECT_EQ(page["epoch"], epoch);
  ASSERT_EQ(page["messages"].size(), 2u);
  EXPECT_EQ(page["messages"][0]["data"], 3);
  EXPECT_EQ(page["messages"][1]["from"], "server");
  auto after = body_of(call("GET", "/api/history?room=chat:api&since=2&epoch=" + epoch));
  ASSERT_EQ(after["messages"].size(), 2u) << after.dump();
  EXPECT_EQ(after["messages"][0]["offset"], 3);
  auto all = body_of(call("GET", "/api/history?room=chat:api"));
  EXPECT_EQ(all["messages"].size(), 3u) << "the room keeps 3";

  expect_error(call("GET", "/api/history?room=lobby"), 404, "not_found");
  expect_error(call("GET", "/api/history"), 400, "bad_request");
  expect_error(call("GET", "/api/history?room=chat:api&limit=0"), 400, "bad_request");
  expect_error(call("GET", "/api/history?room=chat:api&limit=x"), 400, "bad_request");
  expect_error(call("GET", "/api/history?room=chat:api&since=2"), 400, "bad_request");
  expect_error(call("GET", "/api/history?room=chat:api&since=-1&epoch=e"), 400, "bad_request");
}

}  // namespace
}  // namespace switchboard::testing
