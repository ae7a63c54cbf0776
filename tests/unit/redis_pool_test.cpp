// The Redis connection pool against a real redis-server: the size bound
// under concurrency, waiting, queue limit and timeout, leases coming back on
// every path, broken connections replaced, and Redis being down.
#include "common/redis/pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/redis/error.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard::redis {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

endpoint endpoint_of(const std::string& url) {
  auto ep = parse_endpoint(url);
  if (!ep) throw std::invalid_argument("bad test URL " + url);
  return *ep;
}

std::string text(const reply_ptr& reply) { return reply ? std::string(text_of(*reply)) : "(no reply)"; }

std::chrono::milliseconds since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

std::uint64_t get(const std::atomic<std::uint64_t>& value) { return value.load(std::memory_order_relaxed); }

// Normal clients as Redis itself counts them, minus the one asking.
std::size_t server_side_clients(const testing::redis_process& redis) {
  std::string list = redis.command({"CLIENT", "LIST", "TYPE", "normal"});
  return static_cast<std::size_t>(std::count(list.begin(), list.end(), '\n')) - 1;
}

// What the concurrent workers of the size test saw.
struct tally {
  std::size_t holding = 0;
  std::size_t most_holding = 0;
  std::size_t done = 0;
  std::size_t failed = 0;
  std::set<long long> client_ids;  // one per distinct server-side connection
};

// Holds a lease across a request, a pause and another request, as a slow
// command would.
asio::awaitable<void> hold_and_work(pool& p, std::shared_ptr<tally> t) {
  auto [ec, held] = co_await p.acquire();
  if (ec) {
    ++t->failed;
    co_return;
  }
  t->most_holding = std::max(t->most_holding, ++t->holding);
  std::array<std::string_view, 2> client_id{"CLIENT", "ID"};
  auto [id_ec, id] = co_await held->request(client_id);
  if (!id_ec && id) t->client_ids.insert(id->integer);
  asio::steady_timer pause(co_await asio::this_coro::executor, 5ms);
  co_await pause.async_wait(use_nothrow);
  std::array<std::string_view, 2> incr{"INCR", "work"};
  auto [incr_ec, count] = co_await held->request(incr);
  --t->holding;
  if (incr_ec) ++t->failed;
  else ++t->done;
}

asio::awaitable<void> throw_while_holding(pool& p) {
  auto [ec, held] = co_await p.acquire();
  if (ec) co_return;
  std::array<std::string_view, 1> ping{"PING"};
  co_await held->request(ping);
  throw std::runtime_error("failed while holding a lease");
}

// Holds a lease until cancelled: the wait then throws operation_aborted.
asio::awaitable<void> hold_until_cancelled(pool& p) {
  auto [ec, held] = co_await p.acquire();
  if (ec) co_return;
  asio::steady_timer forever(co_await asio::this_coro::executor, 60s);
  co_await forever.async_wait(asio::use_awaitable);
}

class redis_pool_test : public ::testing::Test {
 protected:
  void SetUp() override { SWITCHBOARD_REQUIRE_REDIS_SERVER(); }

  // The pool must outlive its leases: close it, then let every coroutine
  // still holding one finish before the members go.
  void TearDown() override {
    if (!pool_) return;
    pool_->close();
    EXPECT_TRUE(run_until([&] { return get(counters_.all) == 0; }, 3s)) << "leases still out after close()";
  }

  pool& make_pool(pool_options options) {
    pool_ = std::make_unique<pool>(ioc_.get_executor(), std::move(options), counters_);
    return *pool_;
  }

  static pool_options options_for(const testing::redis_process& redis, std::size_t size) {
    pool_options options{.where = fixed_locator(endpoint_of(redis.url()))};
    options.size = size;
    return options;
  }

  // Runs handlers until `done()` or `limit`; true when done.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    return loop_.run_until(done, limit);
  }

  void run_for(std::chrono::milliseconds duration) { loop_.run_for(duration); }

  // Spawns `task`, cancellable through `cancel`; the result appears in the
  // returned slot, which is shared so that a task still pending after a
  // failed test never writes to a dead frame.
  template <class T>
  std::shared_ptr<std::optional<T>> spawn(asio::awaitable<T> task, asio::cancellation_slot cancel = {}) {
    auto slot = std::make_shared<std::optional<T>>();
    asio::co_spawn(ioc_, std::move(task), asio::bind_cancellation_slot(cancel, [slot](std::exception_ptr e, T value) {
                     if (e) std::rethrow_exception(e);
                     slot->emplace(std::move(value));
                   }));
    return slot;
  }

  // Spawns `task` and records how it ended: nullptr, or what it threw.
  std::shared_ptr<std::optional<std::exception_ptr>> spawn_void(asio::awaitable<void> task,
                                                                asio::cancellation_slot cancel = {}) {
    auto slot = std::make_shared<std::optional<std::exception_ptr>>();
    asio::co_spawn(ioc_, std::move(task),
                   asio::bind_cancellation_slot(cancel, [slot](std::exception_ptr e) { slot->emplace(e); }));
    return slot;
  }

  // Runs `task` to completion; a default T (and a test failure) on timeout.
  template <class T>
  T await(asio::awaitable<T> task, std::chrono::milliseconds limit = 5s) {
    auto slot = spawn(std::move(task));
    if (!run_until([&] { return slot->has_value(); }, limit)) {
      ADD_FAILURE() << "no completion within " << limit.count() << " ms";
      return T{};
    }
    return std::move(**slot);
  }

  connection::result request(connection& conn, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    return await(conn.request(views));
  }

  std::string ping(pool::lease& held) { return text(std::get<1>(request(*held, {"PING"}))); }

  // The gauges, with nothing connecting (then all = idle + in_use).
  void expect_gauges(std::uint64_t all, std::uint64_t idle, std::uint64_t in_use, std::uint64_t waiting) {
    EXPECT_EQ(get(counters_.all), all);
    EXPECT_EQ(get(counters_.idle), idle);
    EXPECT_EQ(get(counters_.in_use), in_use);
    EXPECT_EQ(get(counters_.waiting), waiting);
  }

  testing::test_loop loop_;
  asio::io_context& ioc_ = loop_.context();
  pool_counters counters_;
  std::unique_ptr<pool> pool_;
};

TEST_F(redis_pool_test, lends_a_working_connection_and_reuses_it) {
  testing::redis_process redis;
  // The overload that counts into the pool's own instance.
  pool p(ioc_.get_executor(), options_for(redis, 2));
  const pool_counters& counts = p.counters();

  auto [ec, first] = await(p.acquire());
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(first);
  EXPECT_EQ(ping(first), "PONG");
  EXPECT_EQ(get(counts.all), 1u);
  EXPECT_EQ(get(counts.in_use), 1u);
  EXPECT_EQ(get(counts.idle), 0u);
  EXPECT_EQ(get(counts.connects), 1u);
  const connection* seen = &*first;

  first.reset();
  EXPECT_FALSE(first);
  EXPECT_EQ(get(counts.idle), 1u);
  EXPECT_EQ(get(counts.in_use), 0u);

  auto [again_ec, again] = await(p.acquire());
  ASSERT_FALSE(again_ec);
  EXPECT_EQ(&*again, seen);
  EXPECT_EQ(get(counts.connects), 1u);

  // Moving hands over the one lease; assigning over it gives it back.
  pool::lease moved = std::move(again);
  EXPECT_FALSE(again);
  ASSERT_TRUE(moved);
  EXPECT_EQ(get(counts.in_use), 1u);
  moved = pool::lease{};
  EXPECT_FALSE(moved);
  EXPECT_EQ(get(counts.idle), 1u);
  EXPECT_EQ(get(counts.in_use), 0u);
  EXPECT_EQ(get(counts.all), 1u);
}

TEST_F(redis_pool_test, request_leases_for_one_round_trip_only) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 1));
  auto [ec, reply] = await(p.command("ECHO", "hello"));
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(reply);
  EXPECT_EQ(text_of(*reply), "hello");
  expect_gauges(1, 1, 0, 0);
  // An error reply comes back as one, and the connection still returns.
  auto [bad_ec, bad] = await(p.command("NOSUCHCOMMAND"));
  EXPECT_EQ(bad_ec, make_error_code(errc::server_error));
  expect_gauges(1, 1, 0, 0);
  EXPECT_EQ(get(counters_.connects), 1u);
}

TEST_F(redis_pool_test, request_reports_a_failed_acquire_without_a_reply) {
  pool_options options{.where = fixed_locator(endpoint_of("redis://127.0.0.1:" + std::to_string(testing::free_tcp_port())))};
  pool& p = make_pool(options);
  auto [ec, reply] = await(p.command("PING"));
  EXPECT_EQ(ec, make_error_code(errc::unavailable));
  EXPECT_FALSE(reply);
  expect_gauges(0, 0, 0, 0);
}

TEST_F(redis_pool_test, never_opens_more_than_size_under_concurrency) {
  testing::redis_process redis;
  constexpr std::size_t size = 4;
  constexpr std::size_t workers = 50;
  pool& p = make_pool(options_for(redis, size));

  auto t = std::make_shared<tally>();
  for (std::size_t i = 0; i < workers; ++i) spawn_void(hold_and_work(p, t));
  std::uint64_t most_all = 0, most_in_use = 0, most_waiting = 0;
  std::size_t most_server_side = 0;
  bool finished = run_until(
      [&] {
        most_all = std::max(most_all, get(counters_.all));
        most_in_use = std::max(most_in_use, get(counters_.in_use));
        most_waiting = std::max(most_waiting, get(counters_.waiting));
        most_server_side = std::max(most_server_side, server_side_clients(redis));
        EXPECT_GE(get(counters_.all), get(counters_.idle) + get(counters_.in_use));
        return t->done + t->failed == workers;
      },
      10s);
  ASSERT_TRUE(finished) << t->done << " done, " << t->failed << " failed";
  EXPECT_EQ(t->failed, 0u);
  EXPECT_EQ(redis.command({"GET", "work"}), std::to_string(workers));

  EXPECT_LE(most_all, size);
  EXPECT_LE(most_in_use, size);
  EXPECT_LE(t->most_holding, size);
  EXPECT_LE(most_server_side, size);
  // Every place was used, each by one connection for the whole run.
  EXPECT_EQ(t->client_ids.size(), size);
  EXPECT_EQ(get(counters_.connects), size);
  EXPECT_GT(most_waiting, 0u);
  EXPECT_EQ(get(counters_.acquire_timeouts), 0u);
  EXPECT_EQ(get(counters_.acquire_rejections), 0u);
  expect_gauges(size, size, 0, 0);
  EXPECT_EQ(server_side_clients(redis), size);
}

TEST_F(redis_pool_test, without_wait_a_full_pool_fails_at_once) {
  testing::redis_process redis;
  auto options = options_for(redis, 1);
  options.wait = false;
  pool& p = make_pool(options);
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);

  const auto start = clock_type::now();
  auto [full_ec, none] = await(p.acquire());
  EXPECT_EQ(full_ec, make_error_code(errc::unavailable));
  EXPECT_FALSE(none);
  EXPECT_LT(since(start), 100ms);
  EXPECT_EQ(get(counters_.acquire_rejections), 1u);
  expect_gauges(1, 0, 1, 0);

  held.reset();
  auto [later_ec, later] = await(p.acquire());
  EXPECT_FALSE(later_ec);
  EXPECT_EQ(ping(later), "PONG");
}

TEST_F(redis_pool_test, max_waiters_rejects_the_next_and_returns_go_to_the_first_waiter) {
  testing::redis_process redis;
  auto options = options_for(redis, 1);
  options.max_waiters = 2;
  pool& p = make_pool(options);
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);
  const connection* conn = &*held;

  auto first = spawn(p.acquire());
  auto second = spawn(p.acquire());
  ASSERT_TRUE(run_until([&] { return get(counters_.waiting) == 2; }));

  const auto start = clock_type::now();
  auto [third_ec, third] = await(p.acquire());
  EXPECT_EQ(third_ec, make_error_code(errc::unavailable));
  EXPECT_FALSE(third);
  EXPECT_LT(since(start), 100ms);
  EXPECT_EQ(get(counters_.acquire_rejections), 1u);
  expect_gauges(1, 0, 1, 2);

  // Straight to the oldest waiter, never idle in between.
  held.reset();
  expect_gauges(1, 0, 1, 1);
  ASSERT_TRUE(run_until([&] { return first->has_value(); }));
  EXPECT_FALSE(second->has_value());
  auto& [first_ec, first_lease] = **first;
  EXPECT_FALSE(first_ec);
  ASSERT_TRUE(first_lease);
  EXPECT_EQ(&*first_lease, conn);

  first_lease.reset();
  ASSERT_TRUE(run_until([&] { return second->has_value(); }));
  auto& [second_ec, second_lease] = **second;
  EXPECT_FALSE(second_ec);
  ASSERT_TRUE(second_lease);
  EXPECT_EQ(&*second_lease, conn);
  EXPECT_EQ(ping(second_lease), "PONG");
  second_lease.reset();
  expect_gauges(1, 1, 0, 0);
  EXPECT_EQ(get(counters_.connects), 1u);
}

TEST_F(redis_pool_test, waiter_times_out_when_nothing_comes_back) {
  testing::redis_process redis;
  constexpr auto acquire_timeout = 150ms;
  auto options = options_for(redis, 1);
  options.acquire_timeout = acquire_timeout;
  pool& p = make_pool(options);
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);

  const auto start = clock_type::now();
  auto [late_ec, none] = await(p.acquire(), 2s);
  const auto elapsed = since(start);
  EXPECT_EQ(late_ec, make_error_code(errc::timeout));
  EXPECT_FALSE(none);
  EXPECT_GE(elapsed, acquire_timeout);
  EXPECT_LT(elapsed, acquire_timeout + 450ms);
  EXPECT_EQ(get(counters_.acquire_timeouts), 1u);
  expect_gauges(1, 0, 1, 0);

  held.reset();
  expect_gauges(1, 1, 0, 0);
}

TEST_F(redis_pool_test, lease_comes_back_after_an_error_reply_and_an_exception) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 1));
  {
    auto [ec, held] = await(p.acquire());
    ASSERT_FALSE(ec);
    auto [error_ec, error_reply] = request(*held, {"NO_SUCH_COMMAND"});
    EXPECT_EQ(error_ec, make_error_code(errc::server_error));
  }
  expect_gauges(1, 1, 0, 0);

  auto thrown = spawn_void(throw_while_holding(p));
  ASSERT_TRUE(run_until([&] { return thrown->has_value(); }));
  ASSERT_TRUE(**thrown);
  EXPECT_THROW(std::rethrow_exception(**thrown), std::runtime_error);
  expect_gauges(1, 1, 0, 0);
  // The same connection served both: an error reply does not break it.
  EXPECT_EQ(get(counters_.connects), 1u);
  EXPECT_EQ(get(counters_.broken_discarded), 0u);
}

TEST_F(redis_pool_test, cancellation_returns_the_lease_and_leaves_the_queue) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 1));

  // Cancelled while holding a lease: it unwinds and the lease comes back.
  asio::cancellation_signal cancel_holder;
  auto holder = spawn_void(hold_until_cancelled(p), cancel_holder.slot());
  ASSERT_TRUE(run_until([&] { return get(counters_.in_use) == 1; }));
  cancel_holder.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until([&] { return holder->has_value(); }, 1s));
  EXPECT_TRUE(**holder);  // the aborted wait threw
  expect_gauges(1, 1, 0, 0);

  // Cancelled while queued: it leaves the queue with nothing.
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);
  asio::cancellation_signal cancel_waiter;
  auto waiter = spawn(p.acquire(), cancel_waiter.slot());
  ASSERT_TRUE(run_until([&] { return get(counters_.waiting) == 1; }));
  cancel_waiter.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until([&] { return waiter->has_value(); }, 1s));
  auto& [waiter_ec, waiter_lease] = **waiter;
  EXPECT_EQ(waiter_ec, make_error_code(asio::error::operation_aborted));
  EXPECT_FALSE(waiter_lease);
  EXPECT_EQ(get(counters_.acquire_timeouts), 0u);
  expect_gauges(1, 0, 1, 0);

  held.reset();
  expect_gauges(1, 1, 0, 0);
}

TEST_F(redis_pool_test, waiter_destroyed_after_the_handover_gives_the_connection_back) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 1));
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);

  // The waiter's coroutine runs on a second io_context, so that its wake-up
  // can be left queued there and its frame destroyed with the context.
  auto other = std::make_unique<asio::io_context>(1);
  auto never = std::make_shared<bool>(false);
  asio::co_spawn(*other, p.acquire(), [never](std::exception_ptr, pool::acquire_result) { *never = true; });
  for (int i = 0; i < 100 && get(counters_.waiting) == 0; ++i) other->poll();
  ASSERT_EQ(get(counters_.waiting), 1u);

  held.reset();
  expect_gauges(1, 0, 1, 0);  // handed over to the waiter
  run_for(20ms);              // the wake-up moves to `other`, which never runs it
  other.reset();
  EXPECT_FALSE(*never);
  expect_gauges(1, 1, 0, 0);

  auto [again_ec, again] = await(p.acquire());
  ASSERT_FALSE(again_ec);
  EXPECT_EQ(ping(again), "PONG");
  EXPECT_EQ(get(counters_.connects), 1u);
}

TEST_F(redis_pool_test, killed_idle_connections_are_replaced) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 2));
  {
    auto [a_ec, a] = await(p.acquire());
    auto [b_ec, b] = await(p.acquire());
    ASSERT_FALSE(a_ec);
    ASSERT_FALSE(b_ec);
    EXPECT_EQ(ping(a), "PONG");
    EXPECT_EQ(ping(b), "PONG");
  }
  expect_gauges(2, 2, 0, 0);
  EXPECT_EQ(server_side_clients(redis), 2u);

  EXPECT_EQ(redis.command({"CLIENT", "KILL", "TYPE", "normal"}), "2");
  run_for(50ms);  // the read loops see the connections end
  auto [ec, fresh] = await(p.acquire());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(ping(fresh), "PONG");
  EXPECT_EQ(get(counters_.broken_discarded), 2u);
  EXPECT_EQ(get(counters_.connects), 3u);
  expect_gauges(1, 0, 1, 0);
}

TEST_F(redis_pool_test, killed_leased_connection_is_replaced_for_the_waiter) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 1));
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);
  auto waiter = spawn(p.acquire());
  ASSERT_TRUE(run_until([&] { return get(counters_.waiting) == 1; }));

  EXPECT_EQ(redis.command({"CLIENT", "KILL", "TYPE", "normal"}), "1");
  ASSERT_TRUE(run_until([&] { return !held->is_open(); }));
  held.reset();
  EXPECT_EQ(get(counters_.broken_discarded), 1u);

  ASSERT_TRUE(run_until([&] { return waiter->has_value(); }));
  auto& [waiter_ec, fresh] = **waiter;
  ASSERT_FALSE(waiter_ec) << waiter_ec.message();
  EXPECT_EQ(ping(fresh), "PONG");
  EXPECT_EQ(get(counters_.connects), 2u);
  expect_gauges(1, 0, 1, 0);
}

TEST_F(redis_pool_test, acquire_fails_fast_when_nothing_listens) {
  // A port that was just free: every connect is refused.
  pool_options options{.where = fixed_locator(endpoint_of("redis://127.0.0.1:" + std::to_string(testing::free_tcp_port())))};
  options.size = 2;
  pool& p = make_pool(options);

  constexpr std::size_t callers = 5;
  std::vector<std::shared_ptr<std::optional<pool::acquire_result>>> results;
  const auto start = clock_type::now();
  for (std::size_t i = 0; i < callers; ++i) results.push_back(spawn(p.acquire()));
  ASSERT_TRUE(run_until([&] { return std::ranges::all_of(results, [](auto& r) { return r->has_value(); }); }, 2s));
  EXPECT_LT(since(start), 500ms);
  for (auto& result : results) {
    auto& [ec, none] = **result;
    EXPECT_EQ(ec, make_error_code(errc::unavailable));
    EXPECT_FALSE(none);
  }
  // Each failure handed its place to the next waiter, which tried again.
  EXPECT_EQ(get(counters_.connect_failures), callers);
  EXPECT_EQ(get(counters_.connects), 0u);
  expect_gauges(0, 0, 0, 0);
}

TEST_F(redis_pool_test, acquire_fails_fast_while_redis_is_down_and_recovers) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 2));
  {
    auto [ec, held] = await(p.acquire());
    ASSERT_FALSE(ec);
  }
  expect_gauges(1, 1, 0, 0);

  redis.stop();
  run_for(50ms);
  const auto start = clock_type::now();
  auto [down_ec, none] = await(p.acquire(), 2s);
  EXPECT_EQ(down_ec, make_error_code(errc::unavailable));
  EXPECT_FALSE(none);
  EXPECT_LT(since(start), 500ms);
  EXPECT_EQ(get(counters_.broken_discarded), 1u);
  EXPECT_EQ(get(counters_.connect_failures), 1u);
  expect_gauges(0, 0, 0, 0);

  redis.start();
  auto [up_ec, fresh] = await(p.acquire());
  ASSERT_FALSE(up_ec) << up_ec.message();
  EXPECT_EQ(ping(fresh), "PONG");
  EXPECT_EQ(get(counters_.connects), 2u);
}

TEST_F(redis_pool_test, close_fails_waiters_and_later_acquires) {
  testing::redis_process redis;
  pool& p = make_pool(options_for(redis, 1));
  auto [ec, held] = await(p.acquire());
  ASSERT_FALSE(ec);
  auto waiter = spawn(p.acquire());
  ASSERT_TRUE(run_until([&] { return get(counters_.waiting) == 1; }));

  // Well before the waiter's acquire_timeout (1 s) could end it instead.
  p.close();
  ASSERT_TRUE(run_until([&] { return waiter->has_value(); }, 300ms));
  EXPECT_EQ(std::get<0>(**waiter), make_error_code(errc::closed));
  EXPECT_EQ(std::get<0>(await(p.acquire())), make_error_code(errc::closed));
  // Leased connections are closed too, and dropped when they come back.
  EXPECT_FALSE(held->is_open());
  expect_gauges(1, 0, 1, 0);
  held.reset();
  expect_gauges(0, 0, 0, 0);
  EXPECT_EQ(get(counters_.broken_discarded), 0u);
}

}  // namespace
}  // namespace switchboard::redis
