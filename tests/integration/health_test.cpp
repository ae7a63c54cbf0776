// Health that tells the truth: when Redis drops the worker's subscription
// (CLIENT KILL TYPE pubsub) or stops answering (SIGSTOP), /healthz turns
// 503, comes back to 200 once delivery works again, and clients that stayed
// connected get their messages without reconnecting.

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/exposition.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Polls /healthz without pause on a thread of its own and keeps every
// answer with its time. Each poll lands on either worker.
class health_watch {
 public:
  using sample = std::pair<clock::time_point, unsigned>;

  explicit health_watch(std::uint16_t port)
      : thread_([this, port] {
          while (!stop_) {
            auto status = http_get(port, "/healthz", 1s).status;
            std::lock_guard lock(mutex_);
            samples_.emplace_back(clock::now(), status);
          }
        }) {}
  ~health_watch() {
    stop_ = true;
    thread_.join();
  }
  // The first answer with `status` at or after `since`.
  std::optional<clock::time_point> first(unsigned status, clock::time_point since) const {
    std::lock_guard lock(mutex_);
    for (const auto& [at, got] : samples_)
      if (at >= since && got == status) return at;
    return std::nullopt;
  }
  // Every answer in [from, to).
  std::vector<unsigned> between(clock::time_point from, clock::time_point to) const {
    std::lock_guard lock(mutex_);
    std::vector<unsigned> out;
    for (const auto& [at, got] : samples_)
      if (at >= from && at < to) out.push_back(got);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<sample> samples_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

long ms_between(clock::time_point from, clock::time_point to) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}

class health_test : public cluster_test {
 protected:
  // Each client broadcasts once; both get both messages: delivery works
  // both ways on connections that never closed.
  void expect_delivery(ws_client& a, ws_client& b, const std::string& tag) {
    for (auto* sender : {&a, &b}) {
      sender->send_json({{"type", "broadcast"}, {"ref", tag}, {"data", tag + sender->id()}});
      EXPECT_EQ(sender->next_answer()["type"], "ack") << sender->describe();
    }
    for (auto* receiver : {&a, &b}) {
      std::set<std::string> got;
      for (int i = 0; i < 2; ++i) got.insert(receiver->next_of_type("message")["data"].get<std::string>());
      EXPECT_EQ(got, (std::set<std::string>{tag + a.id(), tag + b.id()})) << receiver->describe();
    }
  }

  double reconnects(int worker) {
    auto e = parse_exposition(http_get(server().port(), "/metrics").body);
    return e.value("switchboard_redis_reconnects_total", "test-node", worker);
  }
};

TEST_F(health_test, a_killed_subscription_turns_health_503_until_delivery_works_again) {
  start_server();
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  const std::string a_id = a.id(), b_id = b.id();
  const double before0 = reconnects(0), before1 = reconnects(1);
  {
    health_watch watch(server().port());
    loop_.run_for(100ms);
    auto killed_at = clock::now();
    auto killed = redis().command({"CLIENT", "KILL", "TYPE", "pubsub"});
    EXPECT_EQ(killed, "2") << "expected one subscriber per worker";
    std::optional<clock::time_point> went_503, back_200;
    ASSERT_TRUE(loop_.run_until(
        [&] {
          went_503 = watch.first(503, killed_at);
          if (went_503) back_200 = watch.first(200, *went_503);
          return back_200.has_value();
        },
        10s))
        << "/healthz never went 503 and back to 200; 503 seen: " << went_503.has_value();
    std::cout << "[ health ] 503 " << ms_between(killed_at, *went_503) << " ms after CLIENT KILL, 200 again after "
              << ms_between(killed_at, *back_200) << " ms\n";
  }
  EXPECT_TRUE(wait_health(server().port(), 200, 6, 5s));
  ASSERT_TRUE(a.is_open()) << a.end_reason();
  ASSERT_TRUE(b.is_open()) << b.end_reason();
  EXPECT_EQ(a.id(), a_id);
  EXPECT_EQ(b.id(), b_id);
  expect_delivery(a, b, "after-kill-");
  EXPECT_EQ(reconnects(0), before0 + 1);
  EXPECT_EQ(reconnects(1), before1 + 1);
}

TEST_F(health_test, a_paused_redis_turns_health_503_and_back_after_it_resumes) {
  start_server();
  ws_client a = connect_on(0);
  ws_client b = connect_on(1);
  {
    health_watch watch(server().port());
    loop_.run_for(100ms);
    auto paused_at = clock::now();
    redis().pause();
    // Each worker's next heartbeat times out within the 2 s command
    // deadline; the workers notice at slightly different moments.
    std::optional<clock::time_point> went_503;
    bool noticed = loop_.run_until([&] { return (went_503 = watch.first(503, paused_at)).has_value(); }, 8s);
    if (noticed) loop_.run_for(2500ms);  // by now both workers have noticed
    auto settled = went_503 ? *went_503 + 2500ms : clock::now();
    auto resumed_at = clock::now();
    redis().resume();
    ASSERT_TRUE(noticed) << "/healthz stayed 200 while Redis answered nothing";
    for (unsigned status : watch.between(settled, resumed_at))
      EXPECT_EQ(status, 503u) << "/healthz answered " << status << " while Redis was still paused";
    std::optional<clock::time_point> back_200;
    ASSERT_TRUE(loop_.run_until([&] { return (back_200 = watch.first(200, resumed_at)).has_value(); }, 10s))
        << "/healthz did not come back after Redis resumed";
    std::cout << "[ health ] 503 " << ms_between(paused_at, *went_503) << " ms after SIGSTOP, 200 again "
              << ms_between(resumed_at, *back_200) << " ms after SIGCONT\n";
  }
  EXPECT_TRUE(wait_health(server().port(), 200, 6, 5s));
  ASSERT_TRUE(a.is_open()) << a.end_reason();
  ASSERT_TRUE(b.is_open()) << b.end_reason();
  expect_delivery(a, b, "after-pause-");
}

}  // namespace
}  // namespace switchboard::testing
