#include "server/net/turn_writer.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace switchboard {
namespace {

// Records when the drain asked it to write.
class counted_writer final : public pending_writer {
 public:
  explicit counted_writer(std::vector<int>& log, int id) : log_(log), id_(id) {}
  void write_pending() override {
    log_.push_back(id_);
    if (then) std::exchange(then, nullptr)();
  }
  std::function<void()> then;

 private:
  std::vector<int>& log_;
  int id_;
};

TEST(turn_writer, every_mark_of_a_turn_is_written_in_one_drain) {
  asio::io_context ioc;
  send_ring ring;
  turn_writer writes(ioc.get_executor(), ring);
  std::vector<int> log;
  auto a = std::make_shared<counted_writer>(log, 1);
  auto b = std::make_shared<counted_writer>(log, 2);
  // Two marks, one drain: it was posted by the first, before the handler after them.
  asio::post(ioc, [&] {
    writes.mark(a);
    asio::post(ioc, [&] { log.push_back(0); });
    writes.mark(b);
  });
  ioc.run();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 0}));
}

TEST(turn_writer, a_mark_made_while_draining_waits_for_the_next_turn) {
  asio::io_context ioc;
  send_ring ring;
  turn_writer writes(ioc.get_executor(), ring);
  std::vector<int> log;
  auto a = std::make_shared<counted_writer>(log, 1);
  a->then = [&] {
    writes.mark(a);
    log.push_back(9);
  };
  writes.mark(a);
  ioc.run_one();  // the first drain
  EXPECT_EQ(log, (std::vector<int>{1, 9}));
  ioc.run();
  EXPECT_EQ(log, (std::vector<int>{1, 9, 1}));
}

TEST(turn_writer, holds_what_it_marked_until_the_drain) {
  asio::io_context ioc;
  send_ring ring;
  turn_writer writes(ioc.get_executor(), ring);
  std::vector<int> log;
  std::weak_ptr<counted_writer> watch;
  {
    auto a = std::make_shared<counted_writer>(log, 1);
    watch = a;
    writes.mark(a);
  }
  EXPECT_FALSE(watch.expired());
  ioc.run();
  EXPECT_EQ(log, std::vector<int>{1});
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace switchboard
