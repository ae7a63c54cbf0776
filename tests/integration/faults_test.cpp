// Faults: Redis going away and coming back, a worker frozen or killed, the
// node stopped.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <functional>
#include <iostream>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// How long the workers may take to come back after Redis does. The protocol
// asks for about a second; this only catches a worker that never recovers.
constexpr auto recovery_bound = 15s;
// How long the receiving worker is frozen after Redis returns: well under
// the liveness timeout (3 s by default), after which it would be taken for dead.
constexpr auto frozen_for = 700ms;

// broadcast_until_acked retries with no pause, far above any request
// budget: these tests are about recovery, so the budget is off.
const std::vector<std::string> no_budget{"--client-rate", "0"};

long long ms_since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

// A process stopped with SIGSTOP, continued at the latest when this goes away.
class frozen_process {
 public:
  explicit frozen_process(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~frozen_process() { thaw(); }
  frozen_process(const frozen_process&) = delete;
  frozen_process& operator=(const frozen_process&) = delete;

  bool frozen() const { return pid_ > 0; }
  void thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// A broadcast from `client` answered with unavailable (Redis is down).
void expect_unavailable(ws_client& client, const std::string& ref) {
  client.send_json({{"type", "broadcast"}, {"ref", ref}, {"data", "while down"}});
  json answer = client.next_answer();
  EXPECT_EQ(answer.value("type", ""), "error") << answer.dump();
  EXPECT_EQ(answer.value("code", ""), "unavailable") << answer.dump();
  EXPECT_EQ(answer["ref"], ref) << answer.dump();
}

// Broadcasts from `sender` until one is acked, with no pause between
// attempts (the earliest possible ack is the one at risk), calling
// `before_each` before every attempt; returns the acked data. Every attempt
// before it must be refused with unavailable.
json broadcast_until_acked(ws_client& sender, const std::string& tag,
                           const std::function<void()>& before_each = [] {}) {
  const auto deadline = clock::now() + recovery_bound;
  for (int attempt = 0; clock::now() < deadline; ++attempt) {
    before_each();
    json data = {{"tag", tag}, {"attempt", attempt}};
    sender.send_json({{"type", "broadcast"}, {"ref", attempt}, {"data", data}});
    json answer = sender.next_answer();
    if (answer.value("type", "") == "ack") {
      EXPECT_EQ(answer["ref"], attempt) << answer.dump();
      return data;
    }
    EXPECT_EQ(answer.value("code", ""), "unavailable") << answer.dump();
    EXPECT_EQ(answer["ref"], attempt) << answer.dump();
    if (::testing::Test::HasFailure()) break;
  }
  ADD_FAILURE() << sender.describe() << ": no broadcast acked within " << recovery_bound.count()
                << " s of Redis's return";
  throw wait_failed("no broadcast acked after Redis came back");
}

TEST_F(cluster_test, redis_outage_keeps_clients_and_recovers) {
  start_server({.extra_flags = no_budget});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);

  redis().stop();
  expect_unavailable(a0, "down-0");
  expect_unavailable(b1, "down-1");
  // Clients stay connected and served.
  a0.send_json({{"type", "ping"}, {"ref", "still-there"}});
  EXPECT_EQ(a0.next_answer(), (json{{"type", "pong"}, {"ref", "still-there"}}));
  EXPECT_TRUE(wait_health(server().port(), 503, 6, 5s)) << "/healthz did not answer 503 while Redis was down";

  auto restarted = clock::now();
  redis().start();
  json data = broadcast_until_acked(a0, "recovered");
  std::cout << "[ recovery ] first broadcast acked " << ms_since(restarted) << " ms after Redis restarted\n";

  // Refused attempts were never sent: the first delivery is the acked one.
  json delivered = b1.next_of_type("message");
  EXPECT_EQ(delivered["data"], data) << delivered.dump();
  EXPECT_EQ(delivered.value("from", ""), a0.id());
  EXPECT_EQ(a0.next_of_type("message")["data"], data);
  EXPECT_TRUE(wait_health(server().port(), 200, 6, 5s)) << "/healthz did not come back to 200";
  expect_quiet(loop_, {&a0, &b1});
}

// After Redis restarts, workers resubscribe at slightly different moments.
// The server holds acks back until every worker has resubscribed: the first
// acked broadcast must reach the other worker too. Repeated, from either side.
TEST_F(cluster_test, first_ack_after_redis_restart_reaches_every_worker) {
  start_server({.extra_flags = no_budget});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  constexpr int rounds = 5;

  for (int round = 0; round < rounds; ++round) {
    ws_client& sender = round % 2 == 0 ? a0 : b1;
    ws_client& receiver = round % 2 == 0 ? b1 : a0;
    SCOPED_TRACE("round " + std::to_string(round) + ", sender " + sender.describe());

    redis().stop();
    // Both workers know Redis is gone before it comes back.
    expect_unavailable(a0, "down-0");
    expect_unavailable(b1, "down-1");
    auto restarted = clock::now();
    redis().start();
    json data = broadcast_until_acked(sender, "round " + std::to_string(round));
    std::cout << "[ recovery ] round " << round << ": acked after " << ms_since(restarted) << " ms\n";

    json delivered = receiver.next_of_type("message", 5s);
    ASSERT_EQ(delivered["data"], data) << "the first acked broadcast did not reach the other worker first";
    ASSERT_EQ(sender.next_of_type("message", 5s)["data"], data);
  }
}

// Broadcasts from `sender` until acked while `receiver`'s worker is frozen
// for the first `frozen_for` after Redis returns; expects the ack only after
// the thaw, and the acked broadcast to reach `receiver`.
void expect_ack_to_wait_for_frozen_worker(ws_client& sender, ws_client& receiver, pid_t receiver_worker,
                                          redis_process& redis) {
  redis.stop();
  expect_unavailable(sender, "down-sender");
  expect_unavailable(receiver, "down-receiver");
  frozen_process frozen(receiver_worker);
  auto restarted = clock::now();
  redis.start();
  json data = broadcast_until_acked(sender, "to " + receiver.id(), [&] {
    if (frozen.frozen() && clock::now() - restarted >= frozen_for) frozen.thaw();
  });
  std::cout << "[ recovery ] acked after " << ms_since(restarted) << " ms, the receiving worker frozen for the first "
            << frozen_for.count() << " ms\n";
  EXPECT_FALSE(frozen.frozen()) << "a broadcast was acked " << ms_since(restarted)
                                << " ms after Redis returned, while the receiving worker could not have resubscribed";
  frozen.thaw();
  json delivered = receiver.next_of_type("message", 5s);
  EXPECT_EQ(delivered["data"], data) << delivered.dump();
  EXPECT_EQ(sender.next_of_type("message", 5s)["data"], data);
}

// The same race made deterministic: the receiving worker is frozen (SIGSTOP)
// while Redis comes back, so it cannot resubscribe; its clients are still
// connected, so no ack may come before it is back. Once each way.
TEST_F(cluster_test, acks_wait_for_a_worker_that_is_slow_to_resubscribe) {
  start_server({.extra_flags = no_budget});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  for (auto [sender, receiver] : {std::pair{&a0, &b1}, std::pair{&b1, &a0}}) {
    SCOPED_TRACE("sender " + sender->describe());
    const pid_t receiver_worker = server().worker_serving(receiver->local_port());
    ASSERT_GT(receiver_worker, 0) << "no worker process holds " << receiver->describe();
    expect_ack_to_wait_for_frozen_worker(*sender, *receiver, receiver_worker, redis());
  }
}

// A node that joined the cluster less than a registry heartbeat before Redis
// went away is not yet known to the workers of the nodes that were there
// before. Its clients are connected all the same: after Redis returns, no
// worker may ack before the new node has resubscribed.
TEST_F(cluster_test, acks_wait_for_a_node_that_joined_just_before_redis_restarted) {
  // A heartbeat of 10/3 s makes the window certain rather than likely.
  const std::vector<std::string> flags{"--liveness-seconds", "10", "--client-rate", "0"};
  start_server({.workers = 1, .node = "first", .extra_flags = flags});
  ws_client sender = connect();
  node_process joined(switchboard_binary, redis(), {.workers = 1, .node = "joined", .extra_flags = flags});
  ws_client receiver(loop_);
  receiver.connect(joined.ws_url());
  const auto joined_workers = joined.worker_pids();
  ASSERT_EQ(joined_workers.size(), 1u);
  expect_ack_to_wait_for_frozen_worker(sender, receiver, joined_workers.front(), redis());
}

// Redis goes away again while worker 0 still waits for worker 1 to come
// back from the previous restart: worker 1 must still be waited for.
TEST_F(cluster_test, acks_wait_across_a_second_redis_restart_during_recovery) {
  start_server({.extra_flags = no_budget});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  const pid_t b1_worker = server().worker_serving(b1.local_port());
  ASSERT_GT(b1_worker, 0) << "no worker process holds " << b1.describe();

  redis().stop();
  expect_unavailable(a0, "down-0");
  expect_unavailable(b1, "down-1");
  frozen_process frozen(b1_worker);
  redis().start();
  // Worker 0 comes back alone and waits for worker 1, which cannot follow.
  ASSERT_TRUE(loop_.run_until([&] { return server().subscribed_workers() == 1; }, 10s))
      << "worker 0 did not resubscribe";
  loop_.run_for(300ms);  // several registry polls of worker 0 (every 50 ms while it waits)
  expect_unavailable(a0, "still-waiting");

  redis().stop();
  expect_unavailable(a0, "down-again");
  auto restarted = clock::now();
  redis().start();
  json data = broadcast_until_acked(a0, "after two restarts", [&] {
    if (frozen.frozen() && clock::now() - restarted >= frozen_for) frozen.thaw();
  });
  std::cout << "[ recovery ] acked after " << ms_since(restarted) << " ms, worker 1 frozen until "
            << frozen_for.count() << " ms\n";
  EXPECT_FALSE(frozen.frozen()) << "a broadcast was acked " << ms_since(restarted)
                                << " ms after Redis returned, while worker 1 could not have resubscribed";
  frozen.thaw();
  EXPECT_EQ(b1.next_of_type("message", 5s)["data"], data);
  EXPECT_EQ(a0.next_of_type("message", 5s)["data"], data);
}

TEST_F(cluster_test, killed_worker_is_replaced_and_the_other_keeps_its_clients) {
  start_server({.extra_flags = no_budget});
  ws_client a0 = connect_on(0);
  ws_client b1 = connect_on(1);
  const pid_t victim = server().worker_serving(b1.local_port());
  ASSERT_GT(victim, 0) << "no worker process holds " << b1.describe();
  const std::string old_key = b1.worker_key();

  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(b1.wait_closed()) << "the killed worker's client kept its connection";
  std::vector<pid_t> after;
  ASSERT_TRUE(loop_.run_until(
      [&] {
        after = server().worker_pids();
        return after.size() == 2 && std::find(after.begin(), after.end(), victim) == after.end();
      },
      10s))
      << "worker 1 was not replaced";
  server().wait_ready();

  ws_client fresh = connect_on(1);
  EXPECT_NE(fresh.worker_key(), old_key) << "the new worker reuses the old worker key";

  // The other worker's client never reconnected, and is still served.
  ASSERT_TRUE(a0.is_open()) << a0.end_reason();
  a0.send_json({{"type", "ping"}, {"ref", "alive"}});
  EXPECT_EQ(a0.next_answer(), (json{{"type", "pong"}, {"ref", "alive"}}));
  a0.send_json({{"type", "broadcast"}, {"ref", "after-kill"}, {"data", "hello new worker"}});
  EXPECT_EQ(a0.next_answer(), (json{{"type", "ack"}, {"ref", "after-kill"}}));
  EXPECT_EQ(fresh.next_of_type("message")["data"], "hello new worker");
  EXPECT_EQ(a0.next_of_type("message")["data"], "hello new worker");
}

TEST_F(cluster_test, sigterm_closes_every_client_with_1001_and_the_node_exits) {
  constexpr int drain_seconds = 3;
  start_server({.drain_seconds = drain_seconds});
  std::vector<ws_client> clients;
  for (int worker : {0, 0, 1, 1}) clients.push_back(connect_on(worker));
  const auto workers = server().worker_pids();

  auto signalled = clock::now();
  server().signal(SIGTERM);
  for (auto& client : clients) {
    ASSERT_TRUE(client.wait_closed(std::chrono::seconds(drain_seconds) + 5s)) << client.describe() << " not closed";
    EXPECT_EQ(client.close_code(), 1001) << client.describe() << ": " << client.end_reason();
  }
  // The master waits out the drain, then gives stragglers a short margin.
  auto status = server().wait_exit(std::chrono::seconds(drain_seconds) + 10s);
  ASSERT_TRUE(status.has_value()) << "the master did not exit";
  std::cout << "[ shutdown ] node exited " << ms_since(signalled) << " ms after SIGTERM\n";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
  for (pid_t worker : workers) EXPECT_NE(::kill(worker, 0), 0) << "worker " << worker << " outlived the master";
  auto health = http_get(server().port(), "/healthz", 2s);
  EXPECT_EQ(health.status, 0u) << "/healthz still answers after the node exited";
}

}  // namespace
}  // namespace switchboard::testing
