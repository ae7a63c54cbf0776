// Redis Sentinel support: the sentinel:// URL, the +switch-master payload,
// and the locator and primary-only connections against a real group (a
// primary, a replica, three sentinels on loopback).
#include "common/redis/sentinel_locator.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "common/redis/connection.hpp"
#include "common/redis/error.hpp"
#include "common/redis/sentinel_group.hpp"
#include "common/redis/sentinel_watch.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/sentinel_servers.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard::redis {
namespace {

using namespace std::chrono_literals;

sentinel_group parse_ok(std::string_view url) {
  std::string why;
  auto group = parse_sentinel_url(url, &why);
  if (!group) {
    ADD_FAILURE() << "rejected " << url << ": " << why;
    return {};
  }
  return *group;
}

std::string rejection(std::string_view url) {
  std::string why;
  auto group = parse_sentinel_url(url, &why);
  EXPECT_FALSE(group) << url << " was accepted";
  return why;
}

TEST(sentinel_url, lists_every_sentinel_with_default_ports) {
  auto group = parse_ok("sentinel://10.0.0.1:26380,sentinel-b,[::1]:5000/cache");
  ASSERT_EQ(group.sentinels.size(), 3u);
  EXPECT_EQ(group.sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(group.sentinels[0].port, 26380);
  EXPECT_EQ(group.sentinels[1].host, "sentinel-b");
  EXPECT_EQ(group.sentinels[1].port, 26379);
  EXPECT_EQ(group.sentinels[2].host, "::1");
  EXPECT_EQ(group.sentinels[2].port, 5000);
  EXPECT_EQ(group.master_name, "cache");
  EXPECT_TRUE(group.primary.primary_only);
  EXPECT_EQ(group.primary.db, 0);
  EXPECT_EQ(group.describe(), "sentinel://10.0.0.1:26380,sentinel-b:26379,::1:5000/cache");
}

TEST(sentinel_url, credentials_db_and_the_sentinels_password) {
  auto group = parse_ok("sentinel://alice:s3cr%40t@h1:1,h2:2/mymaster?db=3&sentinel_password=watch");
  EXPECT_EQ(group.primary.user, "alice");
  EXPECT_EQ(group.primary.password, "s3cr@t");
  EXPECT_EQ(group.primary.db, 3);
  for (const auto& sentinel : group.sentinels) {
    EXPECT_EQ(sentinel.password, "watch");
    EXPECT_TRUE(sentinel.user.empty());
    EXPECT_FALSE(sentinel.primary_only);
  }
  EXPECT_EQ(parse_ok("sentinel://:pw@h/m").primary.password, "pw");
  // The description never shows a password.
  EXPECT_EQ(group.describe(), "sentinel://h1:1,h2:2/mymaster?db=3");
}

TEST(sentinel_url, bad_urls_say_why) {
  EXPECT_EQ(rejection("redis://h/m"), "scheme must be sentinel://");
  EXPECT_EQ(rejection("sentinel:///m"), "names no sentinel");
  EXPECT_EQ(rejection("sentinel://h1,,h2/m"), "empty entry in the sentinel list");
  EXPECT_EQ(rejection("sentinel://h1,/m"), "empty entry in the sentinel list");
  EXPECT_EQ(rejection("sentinel://h1"), "path must be /<master name>");
  EXPECT_EQ(rejection("sentinel://h1/"), "path must be /<master name>");
  EXPECT_EQ(rejection("sentinel://h1/a/b"), "path must be /<master name>");
  EXPECT_EQ(rejection("sentinel://h1/m?db=x"), "db must be a non-negative integer");
  EXPECT_EQ(rejection("sentinel://h1/m?tls=1"), "unknown parameter tls");
  EXPECT_EQ(rejection("sentinel://h1:0/m"), "port of 'h1:0' must be 1 to 65535");
  EXPECT_EQ(rejection("sentinel://h1,h2:99999/m"), "port of 'h2:99999' must be 1 to 65535");
  EXPECT_EQ(rejection("sentinel://h1,h2:x/m"), "'h2:x' is not a host[:port]");
  EXPECT_EQ(rejection("sentinel://h1/m#x"), "a fragment (#...) has no meaning here");
}

TEST(sentinel_watch, reads_switch_master_of_its_own_master_only) {
  std::string from, to;
  EXPECT_TRUE(sentinel_watch::parse_switch("cache 10.0.0.1 6379 10.0.0.2 6380", "cache", from, to));
  EXPECT_EQ(from, "10.0.0.1:6379");
  EXPECT_EQ(to, "10.0.0.2:6380");
  EXPECT_FALSE(sentinel_watch::parse_switch("other 10.0.0.1 6379 10.0.0.2 6380", "cache", from, to));
  EXPECT_FALSE(sentinel_watch::parse_switch("cache 10.0.0.1 6379 10.0.0.2", "cache", from, to));
  EXPECT_FALSE(sentinel_watch::parse_switch("cache 10.0.0.1 6379 10.0.0.2 6380 extra", "cache", from, to));
  EXPECT_FALSE(sentinel_watch::parse_switch("", "cache", from, to));
}

class sentinel_group_test : public ::testing::Test {
 protected:
  void SetUp() override {
    SWITCHBOARD_REQUIRE_REDIS_SENTINEL();
    servers_.emplace();
    locator_ = std::make_shared<sentinel_locator>(loop_.context().get_executor(), parse_ok(servers_->url()));
    locator_->on_moved = [this] { ++moved_; };
  }
  void TearDown() override {
    if (locator_) locator_->stop();
  }

  std::uint16_t located_port() {
    auto located = testing::run_task(loop_, locator_->locate());
    if (!located || located->first) return 0;
    return located->second.port;
  }

  testing::test_loop loop_;
  std::optional<testing::sentinel_servers> servers_;
  std::shared_ptr<sentinel_locator> locator_;
  int moved_ = 0;
};

TEST_F(sentinel_group_test, locates_the_primary_and_follows_a_failover) {
  locator_->start();
  EXPECT_EQ(located_port(), servers_->server(0).port());
  EXPECT_EQ(locator_->primary(), "127.0.0.1:" + std::to_string(servers_->server(0).port()));

  // Give the watch a moment to subscribe, then fail over.
  loop_.run_for(300ms);
  EXPECT_EQ(servers_->sentinel(1).command({"SENTINEL", "FAILOVER", testing::sentinel_servers::master_name}), "OK");
  ASSERT_TRUE(loop_.run_until([&] { return moved_ > 0; }, 20s)) << "no +switch-master heard";
  EXPECT_EQ(locator_->moves(), 1u);
  // Whatever the sentinels that did not lead say meanwhile, never the old primary.
  EXPECT_EQ(located_port(), servers_->server(1).port());
  // Every sentinel announces it; the locator counts one move.
  loop_.run_for(2500ms);
  EXPECT_EQ(moved_, 1);
}

TEST_F(sentinel_group_test, a_primary_only_connection_refuses_a_replica) {
  auto conn = std::make_shared<connection>(loop_.context().get_executor(), 2s);
  endpoint replica = parse_ok(servers_->url()).primary;
  replica.host = "127.0.0.1";
  replica.port = servers_->server(1).port();
  auto ec = testing::run_task(loop_, conn->connect(replica, 2s));
  ASSERT_TRUE(ec);
  EXPECT_EQ(*ec, make_error_code(errc::not_primary));
  EXPECT_FALSE(conn->is_open());
}

TEST_F(sentinel_group_test, readonly_on_a_demoted_primary_fails_the_connection_and_tells_the_locator) {
  auto conn = std::make_shared<connection>(loop_.context().get_executor(), 2s);
  auto ec = testing::run_task(loop_, conn->connect(locator_, 2s));
  ASSERT_TRUE(ec);
  ASSERT_FALSE(*ec) << ec->message();
  EXPECT_EQ(conn->peer(), "127.0.0.1:" + std::to_string(servers_->server(0).port()));
  auto run = std::make_shared<std::optional<error_code>>();
  spawn(loop_.context().get_executor(),
        [](std::shared_ptr<connection> c, std::shared_ptr<std::optional<error_code>> out) -> asio::awaitable<void> {
          *out = co_await c->run(nullptr);
        }(conn, run),
        "test read loop");

  // Demoted by hand: the connection is not closed, but writes are refused.
  servers_->server(0).command({"REPLICAOF", "127.0.0.1", std::to_string(servers_->server(1).port())});
  std::array<std::string_view, 3> write{"SET", "k", "v"};
  auto reply = testing::run_task(loop_, conn->request(write));
  ASSERT_TRUE(reply);
  EXPECT_EQ(std::get<0>(*reply), make_error_code(errc::server_error));
  ASSERT_TRUE(loop_.run_until([&] { return run->has_value(); }, 2s));
  EXPECT_EQ(**run, make_error_code(errc::not_primary));
  ASSERT_TRUE(loop_.run_until([&] { return moved_ > 0; }, 2s));
  EXPECT_EQ(locator_->moves(), 1u);
}

}  // namespace
}  // namespace switchboard::redis
