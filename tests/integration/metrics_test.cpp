// GET /metrics against a real node: exact counts for every worker after
// known traffic, from whichever worker answers; counters that survive a
// worker's replacement; the pool's counts and limit.

#include <csignal>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view node = "test-node";

class metrics_test : public cluster_test {
 protected:
  // One scrape, which must parse without a single broken rule.
  exposition scrape() {
    auto res = http_get(server().port(), "/metrics");
    EXPECT_EQ(res.status, 200u) << res.error;
    EXPECT_TRUE(res.content_type.starts_with("text/plain; version=0.0.4")) << res.content_type;
    auto parsed = parse_exposition(res.body);
    for (const auto& problem : parsed.problems) ADD_FAILURE() << problem;
    return parsed;
  }

  // Scrapes until `done` holds for a scrape (sessions close asynchronously).
  exposition scrape_until(const std::function<bool(const exposition&)>& done) {
    exposition last;
    loop_.run_until(
        [&] {
          last = scrape();
          return done(last);
        },
        5s);
    return last;
  }

  // Sends a text frame and counts its bytes as the sender's worker will.
  void send(ws_client& client, std::uint64_t& bytes, const json& frame) {
    std::string text = frame.dump();
    bytes += text.size();
    client.send_text(std::move(text));
  }
};

double delta(const exposition& after, const exposition& before, std::string_view name, int worker,
             std::string_view extra = {}) {
  return after.value(name, node, worker, extra) - before.value(name, node, worker, extra);
}

TEST_F(metrics_test, every_worker_reports_exact_counts_after_known_traffic) {
  start_server();
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  // Clients that landed on the wrong worker are closed by now or soon.
  auto before = scrape_until([](const exposition& e) {
    return e.value("switchboard_connections_open", node, 0) == 1 && e.value("switchboard_connections_open", node, 1) == 1;
  });
  ASSERT_EQ(before.value("switchboard_connections_open", node, 0), 1);
  ASSERT_EQ(before.value("switchboard_connections_open", node, 1), 1);

  std::uint64_t a_bytes = 0, b_bytes = 0;
  for (int i = 0; i < 3; ++i) {
    send(a, a_bytes, {{"type", "broadcast"}, {"ref", "b" + std::to_string(i)}, {"data", i}});
    EXPECT_EQ(a.next_answer()["type"], "ack");
  }
  for (int i = 0; i < 2; ++i) {
    send(b, b_bytes, {{"type", "direct"}, {"ref", "d" + std::to_string(i)}, {"to", a.id()}, {"data", i}});
    EXPECT_EQ(b.next_answer()["type"], "ack");
  }
  send(a, a_bytes, {{"type", "ping"}, {"ref", "p"}});
  EXPECT_EQ(a.next_answer()["type"], "pong");
  b.send_text("{not json");
  b_bytes += 9;
  EXPECT_EQ(b.next_answer()["code"], "bad_json");
  send(b, b_bytes, {{"type", "join"}, {"ref", "j"}, {"room", "lobby"}});
  EXPECT_EQ(b.next_answer()["type"], "ack");
  send(a, a_bytes, {{"type", "room"}, {"ref", "r"}, {"room", "lobby"}, {"data", "hi"}});
  EXPECT_EQ(a.next_answer()["type"], "ack");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.next_of_type("message")["scope"], "broadcast");
    EXPECT_EQ(b.next_of_type("message")["scope"], "broadcast");
  }
  for (int i = 0; i < 2; ++i) EXPECT_EQ(a.next_of_type("message")["scope"], "direct");
  EXPECT_EQ(b.next_of_type("message")["scope"], "room");
  expect_quiet(loop_, {&a, &b});

  // Any worker may answer the scrape; each answer covers both, identically.
  for (int scrape_number = 0; scrape_number < 6; ++scrape_number) {
    auto after = scrape();
    SCOPED_TRACE("scrape " + std::to_string(scrape_number));
    auto received = [&](int worker, std::string_view type) {
      return delta(after, before, "switchboard_messages_received_total", worker, "type=\"" + std::string(type) + "\"");
    };
    auto deliveries = [&](int worker, std::string_view scope) {
      return delta(after, before, "switchboard_deliveries_total", worker, "scope=\"" + std::string(scope) + "\"");
    };
    EXPECT_EQ(received(0, "broadcast"), 3);
    EXPECT_EQ(received(0, "ping"), 1);
    EXPECT_EQ(received(0, "room"), 1);
    EXPECT_EQ(received(0, "direct"), 0);
    EXPECT_EQ(received(1, "direct"), 2);
    EXPECT_EQ(received(1, "invalid"), 1);
    EXPECT_EQ(received(1, "join"), 1);
    EXPECT_EQ(received(1, "broadcast"), 0);
    EXPECT_EQ(deliveries(0, "broadcast"), 3);
    EXPECT_EQ(deliveries(1, "broadcast"), 3);
    EXPECT_EQ(deliveries(0, "direct"), 2);
    EXPECT_EQ(deliveries(1, "direct"), 0);
    EXPECT_EQ(deliveries(0, "room"), 0);
    EXPECT_EQ(deliveries(1, "room"), 1);
    EXPECT_EQ(delta(after, before, "switchboard_errors_total", 1, "code=\"bad_json\""), 1);
    EXPECT_EQ(delta(after, before, "switchboard_errors_total", 0, "code=\"bad_json\""), 0);
    EXPECT_EQ(delta(after, before, "switchboard_received_bytes_total", 0), static_cast<double>(a_bytes));
    EXPECT_EQ(delta(after, before, "switchboard_received_bytes_total", 1), static_cast<double>(b_bytes));
    EXPECT_GT(delta(after, before, "switchboard_sent_bytes_total", 0), 0);
    // Every publish was timed: 3 broadcasts + 1 room message on worker 0;
    // 2 directs and the member event of the join on worker 1.
    EXPECT_EQ(delta(after, before, "switchboard_redis_publish_duration_seconds_count", 0), 4);
    EXPECT_EQ(delta(after, before, "switchboard_redis_publish_duration_seconds_count", 1), 3);
    EXPECT_EQ(after.value("switchboard_connections_open", node, 0), 1);
    EXPECT_EQ(after.value("switchboard_connections_open", node, 1), 1);
    EXPECT_EQ(after.value("switchboard_outbound_queue_bytes", node, 0), 0);
    EXPECT_EQ(after.value("switchboard_healthy", node, 0), 1);
    EXPECT_EQ(after.value("switchboard_healthy", node, 1), 1);
    // Broadcast, users, control, own direct channel, probe, hello; worker 1
    // also holds the room.
    EXPECT_EQ(after.value("switchboard_redis_subscriptions", node, 0), 6);
    EXPECT_EQ(after.value("switchboard_redis_subscriptions", node, 1), 7);
    EXPECT_EQ(after.value("switchboard_worker_restarts_total", node, 0), 0);
  }

  // Closing is counted by code on the worker that held the client: a
  // message over --max-message-bytes (64 KiB) is closed with 1009.
  auto closes_before = scrape();
  a.send_text(std::string(70 * 1024, 'x'));
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.close_code(), 1009);
  auto closed = scrape_until([](const exposition& e) { return e.value("switchboard_connections_open", node, 0) == 0; });
  EXPECT_EQ(delta(closed, closes_before, "switchboard_closes_total", 0, "code=\"1009\""), 1);
  EXPECT_EQ(delta(closed, closes_before, "switchboard_closes_total", 1, "code=\"1009\""), 0);
}

TEST_F(metrics_test, counters_never_go_back_when_a_worker_is_replaced) {
  start_server();
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  for (auto* client : {&a, &b}) {
    client->send_json({{"type", "broadcast"}, {"ref", "x"}, {"data", 1}});
    EXPECT_EQ(client->next_answer()["type"], "ack");
  }
  auto before = scrape();
  const pid_t victim = server().worker_serving(b.local_port());
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(b.wait_closed());
  ASSERT_TRUE(loop_.run_until(
      [&] {
        auto pids = server().worker_pids();
        return pids.size() == 2 && std::find(pids.begin(), pids.end(), victim) == pids.end();
      },
      10s));
  server().wait_ready();

  auto after = scrape_until([](const exposition& e) { return e.value("switchboard_healthy", node, 1) == 1; });
  for (const auto& [series, value] : before.series) {
    auto name = series.substr(0, series.find('{'));
    std::string family = name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"})
      if (name.ends_with(suffix) && before.types.contains(name.substr(0, name.size() - suffix.size())))
        family = name.substr(0, name.size() - suffix.size());
    auto type = before.types.at(family);
    if (type != "counter" && type != "histogram") continue;
    ASSERT_TRUE(after.series.contains(series)) << series;
    EXPECT_GE(after.series.at(series), value) << series << " went backwards";
  }
  EXPECT_EQ(delta(after, before, "switchboard_worker_restarts_total", 1), 1);
  EXPECT_EQ(delta(after, before, "switchboard_worker_restarts_total", 0), 0);
  EXPECT_EQ(after.value("switchboard_messages_received_total", node, 1, "type=\"broadcast\""), 1);
  // The dead worker's connection died with it: the gauge starts again at 0.
  EXPECT_EQ(after.value("switchboard_connections_open", node, 1), 0);
  EXPECT_EQ(after.value("switchboard_connections_open", node, 0), 1);
}

TEST_F(metrics_test, the_pool_stays_within_its_size_and_reports_it) {
  start_server({.extra_flags = {"--redis-pool-size", "2"}});
  // Many clients publishing at once on each worker: more than two commands
  // want a connection at the same moment.
  std::vector<ws_client> clients;
  for (int i = 0; i < 12; ++i) clients.push_back(connect_on(i % 2));
  for (int round = 0; round < 5; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i)
      clients[i].send_json({{"type", "broadcast"}, {"ref", std::to_string(round)}, {"data", round}});
    for (auto& client : clients) EXPECT_EQ(client.next_answer()["type"], "ack") << client.describe();
  }
  for (auto& client : clients) client.take_all();

  auto e = scrape();
  for (int worker = 0; worker < 2; ++worker) {
    SCOPED_TRACE("worker " + std::to_string(worker));
    EXPECT_GE(e.value("switchboard_redis_pool_connections", node, worker), 1);
    EXPECT_LE(e.value("switchboard_redis_pool_connections", node, worker), 2);
    EXPECT_EQ(e.value("switchboard_redis_pool_in_use_connections", node, worker), 0);
    EXPECT_EQ(e.value("switchboard_redis_pool_waiting", node, worker), 0);
    EXPECT_EQ(e.value("switchboard_redis_pool_idle_connections", node, worker),
              e.value("switchboard_redis_pool_connections", node, worker));
    EXPECT_GE(e.value("switchboard_redis_pool_connects_total", node, worker), 1);
    EXPECT_LE(e.value("switchboard_redis_pool_connects_total", node, worker), 2);
    EXPECT_EQ(e.value("switchboard_redis_pool_acquire_timeouts_total", node, worker), 0);
    EXPECT_EQ(e.value("switchboard_redis_pool_connect_failures_total", node, worker), 0);
  }
  // Redis agrees: per worker at most 2 pool connections, the control
  // connection and the subscriber.
  auto list = redis().command({"CLIENT", "LIST", "TYPE", "normal"});
  auto normal = std::count(list.begin(), list.end(), '\n');
  EXPECT_LE(normal, 2 * 3 + 1) << list;  // + the connection asking
}

}  // namespace
}  // namespace switchboard::testing
