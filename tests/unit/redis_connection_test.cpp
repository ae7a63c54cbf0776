// The Redis layer against a real redis-server: connection, the reconnecting
// client, and the subscriber.
#include "common/redis/connection.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/redis/client.hpp"
#include "common/redis/error.hpp"
#include "common/redis/subscriber.hpp"
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

class redis_test : public ::testing::Test {
 protected:
  void SetUp() override { SWITCHBOARD_REQUIRE_REDIS_SERVER(); }

  // Runs handlers until `done()` or `limit`; true when done.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    return loop_.run_until(done, limit);
  }

  // Runs handlers for `duration`, whatever happens.
  void run_for(std::chrono::milliseconds duration) { loop_.run_for(duration); }

  // Spawns `task`; the result appears in the returned slot when it completes.
  // The slot is shared so that a task still pending after a failed test
  // never writes to a dead frame.
  template <class T>
  std::shared_ptr<std::optional<T>> spawn(asio::awaitable<T> task) {
    auto slot = std::make_shared<std::optional<T>>();
    asio::co_spawn(ioc_, std::move(task), [slot](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      slot->emplace(std::move(value));
    });
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

  // A connected connection with its read loop running; nullptr on failure.
  std::shared_ptr<connection> open(const endpoint& ep, std::chrono::milliseconds command_timeout = 2s) {
    auto conn = std::make_shared<connection>(ioc_.get_executor(), command_timeout);
    error_code ec = await(conn->connect(ep, 2s));
    if (ec) {
      ADD_FAILURE() << "connect to " << ep.describe() << ": " << ec.message();
      return nullptr;
    }
    run_result_ = spawn(conn->run(nullptr));
    return conn;
  }

  connection::result request(connection& conn, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    return await(conn.request(views));
  }

  testing::test_loop loop_;
  asio::io_context& ioc_ = loop_.context();
  // What the read loop of the last open() connection returned, once it has.
  std::shared_ptr<std::optional<error_code>> run_result_;
};

// ---------------------------------------------------------------- connection

TEST_F(redis_test, request_and_reply_over_tcp) {
  testing::redis_process redis;
  auto conn = open(endpoint_of(redis.url()));
  ASSERT_TRUE(conn);
  EXPECT_TRUE(conn->is_open());

  auto [set_ec, set_reply] = request(*conn, {"SET", "greeting", "hello"});
  EXPECT_FALSE(set_ec);
  ASSERT_TRUE(set_reply);
  EXPECT_EQ(set_reply->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(text(set_reply), "OK");

  auto [get_ec, get_reply] = request(*conn, {"GET", "greeting"});
  EXPECT_FALSE(get_ec);
  ASSERT_TRUE(get_reply);
  EXPECT_EQ(get_reply->type, REDIS_REPLY_STRING);
  EXPECT_EQ(text(get_reply), "hello");

  auto [nil_ec, nil_reply] = request(*conn, {"GET", "missing"});
  EXPECT_FALSE(nil_ec);
  ASSERT_TRUE(nil_reply);
  EXPECT_EQ(nil_reply->type, REDIS_REPLY_NIL);
  conn->close();
}

TEST_F(redis_test, request_and_reply_over_a_unix_socket) {
  testing::redis_process redis({.unix_socket = true});
  ASSERT_FALSE(redis.unix_path().empty());
  auto conn = open(endpoint_of("unix://" + redis.unix_path()));
  ASSERT_TRUE(conn);
  auto [ec, reply] = request(*conn, {"PING"});
  EXPECT_FALSE(ec);
  EXPECT_EQ(text(reply), "PONG");
  conn->close();
}

TEST_F(redis_test, auth_and_select_during_connect) {
  testing::redis_process redis;
  ASSERT_EQ(redis.command({"ACL", "SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"}), "OK");
  const std::string authority = "127.0.0.1:" + std::to_string(redis.port());

  auto conn = open(endpoint_of("redis://alice:s3cret@" + authority + "/3"));
  ASSERT_TRUE(conn);
  auto [ec, info] = request(*conn, {"CLIENT", "INFO"});
  EXPECT_FALSE(ec);
  EXPECT_NE(text(info).find(" db=3 "), std::string::npos) << text(info);
  EXPECT_NE(text(info).find(" user=alice "), std::string::npos) << text(info);
  conn->close();

  auto refused = std::make_shared<connection>(ioc_.get_executor(), 2s);
  EXPECT_EQ(await(refused->connect(endpoint_of("redis://alice:wrong@" + authority), 2s)),
            make_error_code(errc::server_error));
  EXPECT_FALSE(refused->is_open());

  // The password-only form authenticates the default user.
  ASSERT_EQ(redis.command({"CONFIG", "SET", "requirepass", "top"}), "OK");
  auto with_password = open(endpoint_of("redis://:top@" + authority));
  ASSERT_TRUE(with_password);
  EXPECT_EQ(text(std::get<1>(request(*with_password, {"PING"}))), "PONG");
  with_password->close();
}

TEST_F(redis_test, thousand_pipelined_requests_are_answered_in_order) {
  testing::redis_process redis;
  auto conn = open(endpoint_of(redis.url()));
  ASSERT_TRUE(conn);

  constexpr std::size_t count = 1000;
  std::vector<std::string> values;
  std::vector<std::array<std::string_view, 2>> args;
  values.reserve(count);
  args.reserve(count);
  std::vector<std::size_t> completion_order;
  std::vector<std::string> replies(count);
  // Every request is issued before the io_context runs: none awaits another.
  for (std::size_t i = 0; i < count; ++i) {
    values.push_back("value-" + std::to_string(i));
    args.push_back({"ECHO", values.back()});
    asio::co_spawn(ioc_, conn->request(args.back()),
                   [&, i](std::exception_ptr e, connection::result result) {
                     if (e) std::rethrow_exception(e);
                     auto& [ec, reply] = result;
                     EXPECT_FALSE(ec) << i << ": " << ec.message();
                     replies[i] = text(reply);
                     completion_order.push_back(i);
                   });
  }
  ASSERT_TRUE(run_until([&] { return completion_order.size() == count; }, 10s));
  for (std::size_t i = 0; i < count; ++i) {
    EXPECT_EQ(completion_order[i], i);
    EXPECT_EQ(replies[i], values[i]);
  }
  conn->close();
  run_until([&] { return run_result_->has_value(); });
}

TEST_F(redis_test, error_reply_is_server_error_with_text) {
  testing::redis_process redis;
  auto conn = open(endpoint_of(redis.url()));
  ASSERT_TRUE(conn);

  auto [unknown_ec, unknown] = request(*conn, {"NO_SUCH_COMMAND", "x"});
  EXPECT_EQ(unknown_ec, make_error_code(errc::server_error));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->type, REDIS_REPLY_ERROR);
  EXPECT_NE(text(unknown).find("unknown command"), std::string::npos) << text(unknown);

  request(*conn, {"SET", "word", "abc"});
  auto [incr_ec, incr] = request(*conn, {"INCR", "word"});
  EXPECT_EQ(incr_ec, make_error_code(errc::server_error));
  EXPECT_NE(text(incr).find("not an integer"), std::string::npos) << text(incr);

  // An error reply answers one request; the connection carries on.
  EXPECT_TRUE(conn->is_open());
  EXPECT_EQ(text(std::get<1>(request(*conn, {"PING"}))), "PONG");
  conn->close();
}

TEST_F(redis_test, large_bulk_reply_arrives_whole) {
  testing::redis_process redis;
  auto conn = open(endpoint_of(redis.url()));
  ASSERT_TRUE(conn);
  // 1 MiB is 64 reads of the connection's 16 KiB buffer at the very least.
  std::string value(1 << 20, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i % 251);

  auto [set_ec, set_reply] = request(*conn, {"SET", "big", value});
  EXPECT_FALSE(set_ec);
  auto [get_ec, get_reply] = request(*conn, {"GET", "big"});
  EXPECT_FALSE(get_ec);
  ASSERT_TRUE(get_reply);
  ASSERT_EQ(get_reply->len, value.size());
  EXPECT_TRUE(text_of(*get_reply) == value);
  // Something after the big reply is still framed correctly.
  EXPECT_EQ(text(std::get<1>(request(*conn, {"ECHO", "after"}))), "after");
  conn->close();
}

TEST_F(redis_test, server_closing_the_connection_ends_run) {
  testing::redis_process redis;
  auto conn = open(endpoint_of(redis.url()));
  ASSERT_TRUE(conn);
  EXPECT_EQ(text(std::get<1>(request(*conn, {"PING"}))), "PONG");
  EXPECT_EQ(redis.command({"CLIENT", "KILL", "TYPE", "normal"}), "1");
  ASSERT_TRUE(run_until([&] { return run_result_->has_value(); }));
  EXPECT_TRUE(run_result_->value());
  EXPECT_FALSE(conn->is_open());
  auto [ec, reply] = request(*conn, {"PING"});
  EXPECT_EQ(ec, make_error_code(errc::unavailable));
  EXPECT_FALSE(reply);
}

TEST_F(redis_test, close_fails_pending_requests) {
  testing::redis_process redis;
  auto conn = open(endpoint_of(redis.url()));
  ASSERT_TRUE(conn);
  std::array<std::string_view, 3> args{"BLPOP", "never", "5"};
  auto pending = spawn(conn->request(args));
  run_for(20ms);
  ASSERT_FALSE(pending->has_value());
  conn->close();
  ASSERT_TRUE(run_until([&] { return pending->has_value() && run_result_->has_value(); }));
  EXPECT_EQ(std::get<0>(**pending), make_error_code(errc::closed));
  EXPECT_EQ(**run_result_, make_error_code(errc::closed));
}

TEST_F(redis_test, paused_server_times_out_pending_requests) {
  testing::redis_process redis;
  constexpr auto command_timeout = 300ms;
  auto conn = open(endpoint_of(redis.url()), command_timeout);
  ASSERT_TRUE(conn);
  EXPECT_EQ(text(std::get<1>(request(*conn, {"PING"}))), "PONG");

  redis.pause();
  const auto start = clock_type::now();
  std::array<std::string_view, 1> ping{"PING"};
  auto first = spawn(conn->request(ping));
  auto second = spawn(conn->request(ping));
  ASSERT_TRUE(run_until([&] { return first->has_value() && second->has_value(); }, 3s));
  const auto elapsed = since(start);
  EXPECT_EQ(std::get<0>(**first), make_error_code(errc::timeout));
  EXPECT_EQ(std::get<0>(**second), make_error_code(errc::timeout));
  // The watchdog looks every command_timeout / 4.
  EXPECT_GE(elapsed, command_timeout);
  EXPECT_LT(elapsed, command_timeout * 2 + 200ms);
  ASSERT_TRUE(run_until([&] { return run_result_->has_value(); }));
  EXPECT_EQ(**run_result_, make_error_code(errc::timeout));
  EXPECT_FALSE(conn->is_open());
  redis.resume();
}

TEST_F(redis_test, paused_server_times_out_the_connect_handshake) {
  testing::redis_process redis;
  redis.pause();
  // The kernel completes the TCP handshake for a stopped server; AUTH is
  // what goes unanswered.
  auto conn = std::make_shared<connection>(ioc_.get_executor(), 2s);
  const auto start = clock_type::now();
  error_code ec = await(conn->connect(endpoint_of("redis://:pw@127.0.0.1:" + std::to_string(redis.port())), 300ms));
  EXPECT_EQ(ec, make_error_code(errc::timeout));
  EXPECT_GE(since(start), 300ms);
  EXPECT_LT(since(start), 1500ms);
  EXPECT_FALSE(conn->is_open());
  redis.resume();
}

// Needs no server: nothing listens on a port that was just free.
TEST(redis_connection, connect_to_a_closed_port_fails_within_the_timeout) {
  asio::io_context ioc{1};
  auto conn = std::make_shared<connection>(ioc.get_executor(), 2s);
  std::optional<error_code> result;
  const auto start = clock_type::now();
  const endpoint ep = endpoint_of("redis://127.0.0.1:" + std::to_string(testing::free_tcp_port()));
  asio::co_spawn(ioc, conn->connect(ep, 1s), [&](std::exception_ptr e, error_code ec) {
    if (e) std::rethrow_exception(e);
    result = ec;
  });
  ioc.run_for(3s);
  ASSERT_TRUE(result);
  EXPECT_TRUE(*result);
  EXPECT_LT(since(start), 1500ms);
  EXPECT_FALSE(conn->is_open());
}

// -------------------------------------------------------------------- client

TEST_F(redis_test, client_fails_fast_while_down_and_comes_back) {
  testing::redis_process redis;
  client_options options{.where = fixed_locator(endpoint_of(redis.url()))};
  options.connect_timeout = 500ms;
  client c(ioc_.get_executor(), options);
  int ups = 0;
  int downs = 0;
  c.on_up = [&] { ++ups; };
  c.on_down = [&](error_code) { ++downs; };
  c.start();
  ASSERT_TRUE(run_until([&] { return c.is_up(); }));
  EXPECT_EQ(ups, 1);
  EXPECT_EQ(text(std::get<1>(await(c.command("SET", "k", "v")))), "OK");

  redis.stop();
  ASSERT_TRUE(run_until([&] { return !c.is_up(); }));
  EXPECT_EQ(downs, 1);
  for (int i = 0; i < 3; ++i) {
    const auto start = clock_type::now();
    auto [ec, reply] = await(c.command("PING"));
    EXPECT_EQ(ec, make_error_code(errc::unavailable));
    EXPECT_FALSE(reply);
    EXPECT_LT(since(start), 100ms);
    run_for(50ms);  // let it retry in between
  }

  redis.start();
  ASSERT_TRUE(run_until([&] { return c.is_up(); }, 3s));
  EXPECT_EQ(ups, 2);
  EXPECT_EQ(c.reconnects(), 1u);
  auto [ec, reply] = await(c.command("PING"));
  EXPECT_FALSE(ec);
  EXPECT_EQ(text(reply), "PONG");

  c.stop();
  run_for(50ms);
  EXPECT_FALSE(c.is_up());
}

TEST_F(redis_test, client_send_delivers_replies_to_on_push) {
  testing::redis_process redis;
  client c(ioc_.get_executor(), client_options{.where = fixed_locator(endpoint_of(redis.url()))});
  std::vector<std::string> pushed;
  c.on_push = [&](reply_ptr reply) { pushed.push_back(text(reply)); };
  c.start();
  ASSERT_TRUE(run_until([&] { return c.is_up(); }));
  std::array<std::string_view, 2> echo{"ECHO", "pushed"};
  c.send(echo);
  ASSERT_TRUE(run_until([&] { return !pushed.empty(); }));
  EXPECT_EQ(pushed, std::vector<std::string>{"pushed"});
  c.stop();
  run_for(50ms);
}

// ---------------------------------------------------------------- subscriber

struct message {
  std::string channel;
  std::string payload;
  bool operator==(const message&) const = default;
};

class subscriber_test : public redis_test {
 protected:
  // A subscriber on `redis` that records messages and readiness.
  std::unique_ptr<subscriber> make_subscriber(const testing::redis_process& redis) {
    auto sub = std::make_unique<subscriber>(ioc_.get_executor(), client_options{.where = fixed_locator(endpoint_of(redis.url()))},
                                            [this](std::string_view channel, std::string_view payload) {
                                              messages_.push_back({std::string(channel), std::string(payload)});
                                            });
    sub->on_ready = [this] { ++ready_count_; };
    sub->on_down = [this] { ++down_count_; };
    return sub;
  }

  // Subscribers on the channel as Redis itself counts them.
  static std::string numsub(const testing::redis_process& redis, const std::string& channel) {
    return redis.command({"PUBSUB", "NUMSUB", channel});
  }

  std::vector<message> messages_;
  int ready_count_ = 0;
  int down_count_ = 0;
};

TEST_F(subscriber_test, subscribe_waits_for_confirmation_then_delivers) {
  testing::redis_process redis;
  auto sub = make_subscriber(redis);
  sub->start();
  ASSERT_TRUE(run_until([&] { return ready_count_ == 1; }));
  EXPECT_TRUE(sub->is_ready());

  error_code ec = await(sub->subscribe("news"));
  EXPECT_FALSE(ec) << ec.message();
  // Completion means Redis holds the subscription already.
  EXPECT_EQ(numsub(redis, "news"), "[news, 1]");
  EXPECT_EQ(sub->channels(), 1u);
  EXPECT_TRUE(sub->is_ready());
  // A second subscribe to a held channel completes at once.
  EXPECT_FALSE(await(sub->subscribe("news"), 100ms));

  const std::string binary("line\r\nbreak\0nul", 15);
  EXPECT_EQ(redis.command({"PUBLISH", "news", "hello"}), "1");
  EXPECT_EQ(redis.command({"PUBLISH", "other", "not for us"}), "0");
  EXPECT_EQ(redis.command({"PUBLISH", "news", binary}), "1");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_, (std::vector<message>{{"news", "hello"}, {"news", binary}}));

  sub->stop();
  run_for(50ms);
}

TEST_F(subscriber_test, resubscribes_by_itself_after_a_restart) {
  testing::redis_process redis;
  auto sub = make_subscriber(redis);
  sub->start();
  ASSERT_TRUE(run_until([&] { return sub->is_ready(); }));
  ASSERT_FALSE(await(sub->subscribe("a")));
  ASSERT_FALSE(await(sub->subscribe("b")));
  const int ready_before = ready_count_;

  redis.stop();
  ASSERT_TRUE(run_until([&] { return down_count_ == 1; }));
  EXPECT_FALSE(sub->is_ready());
  // Wanted while down: unavailable now, held after the reconnect.
  EXPECT_EQ(await(sub->subscribe("c")), make_error_code(errc::unavailable));
  EXPECT_EQ(sub->channels(), 3u);

  redis.start();
  ASSERT_TRUE(run_until([&] { return ready_count_ > ready_before && sub->is_ready(); }, 3s));
  EXPECT_EQ(sub->reconnects(), 1u);
  for (const char* channel : {"a", "b", "c"}) EXPECT_EQ(numsub(redis, channel), "[" + std::string(channel) + ", 1]");

  redis.command({"PUBLISH", "a", "1"});
  redis.command({"PUBLISH", "c", "3"});
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_, (std::vector<message>{{"a", "1"}, {"c", "3"}}));

  sub->stop();
  run_for(50ms);
}

TEST_F(subscriber_test, unsubscribe_stops_delivery) {
  testing::redis_process redis;
  auto sub = make_subscriber(redis);
  sub->start();
  ASSERT_TRUE(run_until([&] { return sub->is_ready(); }));
  ASSERT_FALSE(await(sub->subscribe("keep")));
  ASSERT_FALSE(await(sub->subscribe("drop")));

  sub->unsubscribe("drop");
  EXPECT_EQ(sub->channels(), 1u);
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    run_for(10ms);
    dropped = numsub(redis, "drop") == "[drop, 0]";
  }
  ASSERT_TRUE(dropped);
  EXPECT_EQ(redis.command({"PUBLISH", "drop", "lost"}), "0");
  EXPECT_EQ(redis.command({"PUBLISH", "keep", "kept"}), "1");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 1; }));
  run_for(50ms);
  EXPECT_EQ(messages_, (std::vector<message>{{"keep", "kept"}}));
  EXPECT_TRUE(sub->is_ready());

  // Subscribing again after an unsubscribe works.
  ASSERT_FALSE(await(sub->subscribe("drop")));
  EXPECT_EQ(redis.command({"PUBLISH", "drop", "back"}), "1");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_.back(), (message{"drop", "back"}));

  sub->stop();
  run_for(50ms);
}

}  // namespace
}  // namespace switchboard::redis
