#include "common/redis/endpoint.hpp"

#include <gtest/gtest.h>

namespace switchboard::redis {
namespace {

endpoint parse_ok(std::string_view url) {
  std::string why;
  auto ep = parse_endpoint(url, &why);
  if (!ep) {
    ADD_FAILURE() << "rejected " << url << ": " << why;
    return {};
  }
  return *ep;
}

TEST(endpoint, host_only_takes_defaults) {
  auto ep = parse_ok("redis://cache.local");
  EXPECT_EQ(ep.host, "cache.local");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
  EXPECT_TRUE(ep.user.empty());
  EXPECT_TRUE(ep.password.empty());
  EXPECT_FALSE(ep.is_unix());
  EXPECT_EQ(parse_ok("redis://cache.local/").db, 0);
}

TEST(endpoint, port_and_db) {
  auto ep = parse_ok("redis://127.0.0.1:7001/5");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 7001);
  EXPECT_EQ(ep.db, 5);
  EXPECT_EQ(parse_ok("redis://h:65535").port, 65535);
  EXPECT_EQ(parse_ok("redis://h/15").db, 15);
}

TEST(endpoint, password_only) {
  auto ep = parse_ok("redis://:s3cret@h:6380");
  EXPECT_TRUE(ep.user.empty());
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.port, 6380);
}

TEST(endpoint, user_and_password) {
  auto ep = parse_ok("redis://alice:s3cret@h/2");
  EXPECT_EQ(ep.user, "alice");
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.host, "h");
  EXPECT_EQ(ep.db, 2);
}

TEST(endpoint, percent_encoded_password_is_decoded) {
  EXPECT_EQ(parse_ok("redis://:p%40ss%3Aword@h").password, "p@ss:word");
}

TEST(endpoint, ipv6_literal) {
  auto ep = parse_ok("redis://[::1]:6390");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6390);
  EXPECT_EQ(parse_ok("redis://[2001:db8::7]").host, "2001:db8::7");
}

TEST(endpoint, unix_socket) {
  auto ep = parse_ok("unix:///var/run/redis/redis.sock");
  EXPECT_TRUE(ep.is_unix());
  EXPECT_EQ(ep.socket_path, "/var/run/redis/redis.sock");
  EXPECT_TRUE(ep.host.empty());
  EXPECT_EQ(ep.db, 0);
}

TEST(endpoint, unix_socket_with_db) {
  auto ep = parse_ok("unix:///tmp/redis.sock?db=2");
  EXPECT_EQ(ep.socket_path, "/tmp/redis.sock");
  EXPECT_EQ(ep.db, 2);
}

TEST(endpoint, describe_hides_the_password) {
  EXPECT_EQ(parse_ok("redis://alice:s3cret@h:1/2").describe(), "redis://h:1/2");
  EXPECT_EQ(parse_ok("redis://h").describe(), "redis://h:6379");
  EXPECT_EQ(parse_ok("unix:///tmp/r.sock?db=3").describe(), "unix:///tmp/r.sock?db=3");
  EXPECT_EQ(parse_ok("unix:///tmp/r.sock").describe(), "unix:///tmp/r.sock");
}

TEST(endpoint, rejects_bad_urls_with_a_reason) {
  for (const char* url : {
           "http://h:6379",                  // wrong scheme
           "rediss://h",                     // TLS is not supported
           "h:6379",                         // no scheme
           "not a url",
           "",
           "redis://",                       // missing host
           "redis://:pw@",                   // missing host
           "redis://h:0",                    // port 0
           "redis://h:65536",                // port out of range
           "redis://h:abc",
           "redis://h/abc",                  // bad db
           "redis://h/-1",
           "redis://h/1/2",
           "redis://h/99999999999",
           "unix://relative/redis.sock",     // relative unix path
           "unix:redis.sock",
           "unix://",
           "unix:///tmp/r.sock?db=x",
           "unix:///tmp/r.sock?db=-2",
           "unix:///tmp/r.sock?timeout=1",
       }) {
    std::string why;
    EXPECT_FALSE(parse_endpoint(url, &why)) << url;
    EXPECT_FALSE(why.empty()) << url;
  }
}

TEST(endpoint, reason_is_optional) {
  EXPECT_FALSE(parse_endpoint("http://h"));
}

}  // namespace
}  // namespace switchboard::redis
