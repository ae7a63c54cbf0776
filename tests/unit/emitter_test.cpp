// emit::emitter against a real redis-server: refusals cost no command and no
// connection, a batch is one MULTI/EXEC or nothing, and a lost connection
// comes back with the next call. What clients receive is checked against the
// real binary in tests/integration/emitter_test.cpp.
#include "common/emit/emitter.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/emit/error.hpp"
#include "common/redis/error.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run_task.hpp"

namespace switchboard::emit {
namespace {

using protocol::scope;

// How often Redis has run `command` since start (INFO commandstats).
int calls(const testing::redis_process& redis, const std::string& command) {
  std::string stats = redis.command({"INFO", "commandstats"});
  std::smatch m;
  if (!std::regex_search(stats, m, std::regex("cmdstat_" + command + ":calls=([0-9]+)"))) return 0;
  return std::stoi(m[1]);
}

class emitter_test : public ::testing::Test {
 protected:
  emitter make(const std::string& url) { return emitter(loop_.context().get_executor(), {.redis_url = url}); }
  template <typename T>
  T run(asio::awaitable<T> task) {
    auto result = testing::run_task(loop_, std::move(task));
    if (!result) throw std::runtime_error("the emitter did not answer within the test's limit");
    return *result;
  }

  testing::test_loop loop_;
};

TEST_F(emitter_test, a_url_that_is_not_redis_is_refused_at_construction) {
  EXPECT_THROW(make("http://127.0.0.1:6379"), std::invalid_argument);
  EXPECT_THROW(make("redis://"), std::invalid_argument);
}

TEST_F(emitter_test, refused_messages_need_no_redis) {
  // Nobody listens on this port: anything that reached the network would fail otherwise.
  emitter out = make("redis://127.0.0.1:" + std::to_string(testing::free_tcp_port()));
  EXPECT_EQ(run(out.to_room("", "1")), errc::bad_room);
  EXPECT_EQ(run(out.to_user("a\nb", "1")), errc::bad_user);
  EXPECT_EQ(run(out.to_connection("no spaces", "1")), errc::bad_id);
  EXPECT_EQ(run(out.broadcast("{")), errc::bad_json);
  // Nobody to reach: no connection needed either.
  EXPECT_FALSE(run(out.to_connection("unknown.1", "1")));
  std::vector<message> batch{{scope::room, "r", "1"}, {scope::room, "r", "oops"}};
  auto result = run(out.publish_all(batch));
  EXPECT_EQ(result.error, errc::bad_json);
  EXPECT_EQ(result.refused, 1u);
  EXPECT_EQ(run(out.connect()), asio::error::connection_refused);
  EXPECT_EQ(run(out.broadcast("1")), asio::error::connection_refused);
}

TEST_F(emitter_test, each_message_is_one_publish_and_a_batch_one_transaction_or_nothing) {
  SWITCHBOARD_REQUIRE_REDIS_SERVER();
  testing::redis_process redis;
  emitter out = make(redis.url());
  EXPECT_FALSE(run(out.to_room("r", "1")));
  EXPECT_FALSE(run(out.to_user("u", "2")));
  EXPECT_FALSE(run(out.broadcast("3")));
  EXPECT_FALSE(run(out.to_connection("0123456789abcdef.1", "4")));
  EXPECT_EQ(calls(redis, "publish"), 4);

  std::vector<message> refused{{scope::room, "r", "1"}, {scope::room, "r", "2"}, {scope::room, "", "3"}};
  EXPECT_EQ(run(out.publish_all(refused)).refused, 2u);
  EXPECT_EQ(calls(redis, "publish"), 4);
  EXPECT_EQ(calls(redis, "multi"), 0);

  std::vector<message> batch{{scope::room, "r", "1"}, {scope::user, "u", "2"}, {scope::broadcast, {}, "3"}};
  EXPECT_FALSE(run(out.publish_all(batch)).error);
  EXPECT_EQ(calls(redis, "publish"), 7);
  EXPECT_EQ(calls(redis, "exec"), 1);
}

TEST_F(emitter_test, the_next_call_after_a_lost_connection_connects_again) {
  SWITCHBOARD_REQUIRE_REDIS_SERVER();
  testing::redis_process redis;
  emitter out = make(redis.url());
  EXPECT_FALSE(run(out.to_room("r", "1")));
  redis.stop();
  EXPECT_TRUE(run(out.to_room("r", "2")));
  redis.start();
  EXPECT_FALSE(run(out.to_room("r", "3")));
  EXPECT_EQ(calls(redis, "publish"), 1);
}

TEST_F(emitter_test, calls_made_while_connecting_wait_for_that_connect) {
  SWITCHBOARD_REQUIRE_REDIS_SERVER();
  testing::redis_process redis;
  emitter out = make(redis.url());
  // Both start before either has a connection: the second finds the first connecting.
  std::vector<std::shared_ptr<std::optional<error_code>>> results;
  for (const char* data : {"1", "2"}) {
    auto slot = results.emplace_back(std::make_shared<std::optional<error_code>>());
    asio::co_spawn(loop_.context(), out.to_room("r", data), [slot](std::exception_ptr, error_code ec) { *slot = ec; });
  }
  ASSERT_TRUE(loop_.run_until([&] { return *results[0] && *results[1]; }, std::chrono::seconds(5)));
  EXPECT_FALSE(**results[0]);
  EXPECT_FALSE(**results[1]);
  EXPECT_EQ(calls(redis, "publish"), 2);
  // The emitter's and the one INFO itself comes on.
  EXPECT_NE(redis.command({"INFO", "clients"}).find("connected_clients:2\r"), std::string::npos);
}

TEST_F(emitter_test, after_close_every_call_fails) {
  SWITCHBOARD_REQUIRE_REDIS_SERVER();
  testing::redis_process redis;
  emitter out = make(redis.url());
  EXPECT_FALSE(run(out.connect()));
  out.close();
  EXPECT_EQ(run(out.to_room("r", "1")), redis::errc::closed);
  EXPECT_EQ(run(out.connect()), redis::errc::closed);
}

}  // namespace
}  // namespace switchboard::emit
