// Equal grants share one compiled copy while a connection holds it; a
// released copy is dropped, and different grants never share.
#include "common/auth/permission_cache.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace switchboard::auth {
namespace {

claims granting(const std::vector<std::string>& rooms, const std::string& key) {
  claims c;
  c.sub = "someone";
  c.grants.rooms = pattern_set(rooms);
  c.grants_key = key;
  return c;
}

TEST(permission_cache, equal_grants_share_one_copy) {
  permission_cache cache;
  auto first = granting({"chat:*"}, R"(rooms["chat:*"])");
  auto second = granting({"chat:*"}, R"(rooms["chat:*"])");
  auto a = cache.share(first);
  auto b = cache.share(second);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_TRUE(a->rooms.matches("chat:x"));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(permission_cache, different_grants_do_not_share) {
  permission_cache cache;
  auto chat = granting({"chat:*"}, R"(rooms["chat:*"])");
  auto news = granting({"news"}, R"(rooms["news"])");
  auto a = cache.share(chat);
  auto b = cache.share(news);
  EXPECT_NE(a.get(), b.get());
  EXPECT_FALSE(a->rooms.matches("news"));
  EXPECT_TRUE(b->rooms.matches("news"));
  // No grants at all is a key of its own, and grants nothing but direct.
  claims none;
  auto c = cache.share(none);
  EXPECT_FALSE(c->rooms.matches("news"));
  EXPECT_TRUE(c->direct);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(permission_cache, a_released_copy_is_made_again) {
  permission_cache cache;
  auto first = granting({"a"}, R"(rooms["a"])");
  cache.share(first).reset();
  EXPECT_EQ(cache.size(), 0u);
  auto again = granting({"a"}, R"(rooms["a"])");
  auto copy = cache.share(again);
  EXPECT_TRUE(copy->rooms.matches("a"));
}

TEST(permission_cache, released_entries_are_purged_as_it_grows) {
  permission_cache cache;
  std::vector<std::shared_ptr<const permissions>> held;
  for (int i = 0; i < 10000; ++i) {
    auto c = granting({"r" + std::to_string(i)}, "rooms[\"r" + std::to_string(i) + "\"]");
    auto copy = cache.share(c);
    if (i % 100 == 0) held.push_back(copy);
  }
  EXPECT_EQ(cache.size(), held.size());
  for (std::size_t i = 0; i < held.size(); ++i) EXPECT_TRUE(held[i]->rooms.matches("r" + std::to_string(i * 100)));
}

}  // namespace
}  // namespace switchboard::auth
