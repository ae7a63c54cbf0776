#include "server/net/send_ring.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {
namespace {

// A connected pair of stream sockets, closed on scope exit.
struct socket_pair {
  int ours = -1;
  int peer = -1;
  socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      ours = fds[0];
      peer = fds[1];
      ::fcntl(peer, F_SETFL, O_NONBLOCK);
    }
  }
  ~socket_pair() {
    if (ours >= 0) ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  // What the peer can read without waiting.
  std::string received() const {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(peer, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    return got;
  }
};

// A send of `text`, recording its result in `*result` when it completes.
class recorded_send final : public send_ring::operation {
 public:
  recorded_send(std::string text, std::shared_ptr<int> result) : text_(std::move(text)), result_(std::move(result)) {
    iov_ = {text_.data(), text_.size()};
    message.msg_iov = &iov_;
    message.msg_iovlen = 1;
  }
  void complete(int result) override { *result_ = result; }

 private:
  std::string text_;
  iovec iov_{};
  std::shared_ptr<int> result_;
};

constexpr int not_completed = 1 << 30;

std::shared_ptr<int> queue(send_ring& ring, int fd, std::string text) {
  auto result = std::make_shared<int>(not_completed);
  ring.send(fd, std::make_unique<recorded_send>(std::move(text), result));
  return result;
}

#define SKIP_WITHOUT_IO_URING(ring) \
  if (!(ring).available()) GTEST_SKIP() << "io_uring unavailable here: " << (ring).unavailable_reason()

TEST(send_ring, sends_reach_their_sockets_only_when_the_batch_closes) {
  send_ring ring;
  SKIP_WITHOUT_IO_URING(ring);
  socket_pair a, b;
  std::shared_ptr<int> to_a, to_b;
  {
    send_ring::batch batch(ring);
    ASSERT_TRUE(ring.batching());
    to_a = queue(ring, a.ours, "for a");
    to_b = queue(ring, b.ours, "for b, longer");
    EXPECT_EQ(*to_a, not_completed);
    EXPECT_EQ(a.received(), "") << "a queued send went out before its batch closed";
  }
  EXPECT_FALSE(ring.batching());
  EXPECT_EQ(*to_a, 5);
  EXPECT_EQ(*to_b, 13);
  EXPECT_EQ(a.received(), "for a");
  EXPECT_EQ(b.received(), "for b, longer");
}

TEST(send_ring, nested_batches_send_when_the_outermost_closes) {
  send_ring ring;
  SKIP_WITHOUT_IO_URING(ring);
  socket_pair a;
  send_ring::batch outer(ring);
  std::shared_ptr<int> first;
  {
    send_ring::batch inner(ring);
    first = queue(ring, a.ours, "one");
  }
  EXPECT_EQ(*first, not_completed);
  EXPECT_TRUE(ring.batching());
}

TEST(send_ring, a_full_socket_gets_eagain_instead_of_a_send_that_waits) {
  send_ring ring;
  SKIP_WITHOUT_IO_URING(ring);
  socket_pair a;
  const std::string filler(4096, 'f');
  while (::send(a.ours, filler.data(), filler.size(), MSG_DONTWAIT) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  std::shared_ptr<int> result;
  {
    send_ring::batch batch(ring);
    result = queue(ring, a.ours, "no room");
  }
  EXPECT_EQ(*result, -EAGAIN);
}

TEST(send_ring, a_bad_descriptor_fails_only_its_own_send) {
  send_ring ring;
  SKIP_WITHOUT_IO_URING(ring);
  socket_pair a, b;
  int closed = ::dup(a.ours);
  ::close(closed);
  std::shared_ptr<int> bad, good;
  {
    send_ring::batch batch(ring);
    bad = queue(ring, closed, "lost");
    good = queue(ring, b.ours, "kept");
  }
  EXPECT_EQ(*bad, -EBADF);
  EXPECT_EQ(*good, 4);
  EXPECT_EQ(b.received(), "kept");
}

TEST(send_ring, a_batch_larger_than_the_ring_is_sent_whole_and_in_order) {
  send_ring ring(4);
  SKIP_WITHOUT_IO_URING(ring);
  socket_pair a;
  std::vector<std::shared_ptr<int>> results;
  std::string expected;
  {
    send_ring::batch batch(ring);
    for (int i = 0; i < 10; ++i) {
      std::string text = "<" + std::to_string(i) + ">";
      expected += text;
      results.push_back(queue(ring, a.ours, text));
    }
  }
  for (const auto& r : results) EXPECT_EQ(*r, 3);
  EXPECT_EQ(a.received(), expected);
}

TEST(send_ring, outside_a_batch_it_is_not_batching) {
  send_ring ring;
  EXPECT_FALSE(ring.batching());
  EXPECT_EQ(ring.available(), ring.unavailable_reason().empty());
}

TEST(send_ring, a_ring_the_kernel_refuses_is_unavailable_and_never_batches) {
  send_ring ring(0);  // io_uring_setup refuses zero entries, as a seccomp profile would refuse any
  EXPECT_FALSE(ring.available());
  EXPECT_FALSE(ring.unavailable_reason().empty());
  send_ring::batch batch(ring);
  EXPECT_FALSE(ring.batching()) << "callers would queue sends that nothing submits";
}

}  // namespace
}  // namespace switchboard
