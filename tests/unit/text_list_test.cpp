#include "common/text_list.hpp"

#include <gtest/gtest.h>

namespace switchboard {
namespace {

TEST(text_list, items_are_trimmed_and_empty_ones_dropped) {
  EXPECT_EQ(split_list(" chat:* ,user:*,,\t x y "), (std::vector<std::string>{"chat:*", "user:*", "x y"}));
  EXPECT_TRUE(split_list("").empty());
  EXPECT_TRUE(split_list(" , ,").empty());
  EXPECT_EQ(split_list("one"), std::vector<std::string>{"one"});
}

}  // namespace
}  // namespace switchboard
