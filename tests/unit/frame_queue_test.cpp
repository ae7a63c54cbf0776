#include "common/frame_queue.hpp"

#include <gtest/gtest.h>

namespace switchboard {
namespace {

frame_queue::frame_ptr frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

TEST(frame_queue, starts_empty) {
  frame_queue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(frame_queue, keeps_fifo_order_and_counts_bytes) {
  frame_queue q;
  q.push(frame("a"));
  q.push(frame("bb"));
  q.push(frame("ccc"));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.bytes(), 6u);
  EXPECT_EQ(*q.pop(), "a");
  EXPECT_EQ(q.bytes(), 5u);
  q.push(frame("dddd"));
  EXPECT_EQ(*q.pop(), "bb");
  EXPECT_EQ(*q.pop(), "ccc");
  EXPECT_EQ(*q.pop(), "dddd");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(frame_queue, shares_the_same_frame_between_queues) {
  auto shared = frame("same");
  frame_queue a, b;
  a.push(shared);
  b.push(shared);
  EXPECT_EQ(a.pop().get(), b.pop().get());
}

TEST(frame_queue, clear_drops_everything) {
  frame_queue q;
  for (int i = 0; i < 1000; ++i) q.push(frame(std::string(10, 'x')));
  EXPECT_EQ(q.bytes(), 10000u);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  q.push(frame("again"));
  EXPECT_EQ(*q.pop(), "again");
}

TEST(frame_queue, survives_long_interleaved_use) {
  frame_queue q;
  std::size_t next_in = 0, next_out = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 7; ++i) q.push(frame(std::to_string(next_in++)));
    for (int i = 0; i < 5 && !q.empty(); ++i) EXPECT_EQ(*q.pop(), std::to_string(next_out++));
  }
  while (!q.empty()) EXPECT_EQ(*q.pop(), std::to_string(next_out++));
  EXPECT_EQ(next_in, next_out);
}

TEST(frame_queue, take_hands_over_the_front_in_order) {
  frame_queue q;
  for (int i = 0; i < 5; ++i) q.push(frame(std::to_string(i)));
  auto first = q.take(3, 1000);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(*first[0], "0");
  EXPECT_EQ(*first[2], "2");
  EXPECT_EQ(q.bytes(), 2u);
  auto rest = q.take(10, 1000);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(*rest[1], "4");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(frame_queue, take_stops_at_the_byte_budget_but_takes_at_least_one) {
  frame_queue q;
  q.push(frame(std::string(10, 'a')));
  q.push(frame(std::string(10, 'b')));
  q.push(frame(std::string(10, 'c')));
  EXPECT_EQ(q.take(10, 25).size(), 2u);
  EXPECT_EQ(q.take(10, 5).size(), 1u) << "a frame larger than the budget still goes alone";
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace switchboard
