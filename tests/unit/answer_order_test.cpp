#include "server/net/answer_order.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard {
namespace {

struct released {
  std::vector<std::string> frames;
  auto sink() {
    return [this](answer_order::frame_ptr f) { frames.push_back(*f); };
  }
};

answer_order::frame_ptr frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

TEST(answer_order, the_oldest_request_answers_at_once) {
  answer_order order;
  released out;
  auto t = order.open();
  order.add(t, frame("a"), out.sink());
  EXPECT_EQ(out.frames, std::vector<std::string>{"a"});
  order.finish(t, out.sink());
  EXPECT_EQ(order.in_flight(), 0u);
}

TEST(answer_order, later_answers_wait_for_every_earlier_request) {
  answer_order order;
  released out;
  auto first = order.open(), second = order.open(), third = order.open();
  order.add(third, frame("3"), out.sink());
  order.finish(third, out.sink());
  order.add(second, frame("2a"), out.sink());
  EXPECT_TRUE(out.frames.empty());
  order.add(first, frame("1"), out.sink());
  EXPECT_EQ(out.frames, std::vector<std::string>{"1"});
  order.finish(first, out.sink());
  // second is the oldest now: what it made so far leaves, and its next answer at once.
  EXPECT_EQ(out.frames, (std::vector<std::string>{"1", "2a"}));
  order.add(second, frame("2b"), out.sink());
  order.finish(second, out.sink());
  EXPECT_EQ(out.frames, (std::vector<std::string>{"1", "2a", "2b", "3"}));
  EXPECT_EQ(order.in_flight(), 0u);
}

TEST(answer_order, keeps_order_through_long_interleaved_use) {
  answer_order order;
  released out;
  std::vector<answer_order::ticket> open;
  int next = 0;
  std::vector<std::string> expected;
  for (int round = 0; round < 500; ++round) {
    while (open.size() < 5) {
      open.push_back(order.open());
      expected.push_back(std::to_string(next++));
    }
    // Finish the newest first, then the oldest.
    auto newest = open.back();
    open.pop_back();
    order.add(newest, frame(expected[newest]), out.sink());
    order.finish(newest, out.sink());
    auto oldest = open.front();
    open.erase(open.begin());
    order.add(oldest, frame(expected[oldest]), out.sink());
    order.finish(oldest, out.sink());
  }
  for (auto t : open) {
    order.add(t, frame(expected[t]), out.sink());
    order.finish(t, out.sink());
  }
  EXPECT_EQ(out.frames, expected);
  EXPECT_EQ(order.in_flight(), 0u);
}

}  // namespace
}  // namespace switchboard
