#include "server/net/coalescing_socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_loop.hpp"

namespace switchboard {
namespace {

using namespace std::chrono_literals;

// A coalescing_socket and a plain socket connected to it over loopback.
struct socket_pair {
  testing::test_loop loop;
  asio::io_context& ioc = loop.context();
  send_ring ring;
  std::optional<coalescing_socket> ours;
  tcp::socket peer{ioc};

  socket_pair() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(ioc);
    client.connect(acceptor.local_endpoint());
    peer = acceptor.accept();
    ours.emplace(std::move(client), ioc.get_executor(), &ring);
  }

  // Starts a write and returns where its outcome will be.
  struct outcome {
    bool done = false;
    error_code ec;
    std::size_t n = 0;
  };
  std::shared_ptr<outcome> write(std::string text) {
    auto result = std::make_shared<outcome>();
    auto bytes = std::make_shared<std::string>(std::move(text));
    ours->async_write_some(asio::buffer(*bytes), [result, bytes](error_code ec, std::size_t n) {
      *result = {true, ec, n};
    });
    return result;
  }

  // Everything the peer can read without waiting.
  std::string drain_peer() {
    std::string got;
    peer.non_blocking(true);
    char buf[65536];
    for (;;) {
      error_code ec;
      std::size_t n = peer.read_some(asio::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
    }
    return got;
  }

  // Runs handlers until `done` holds or `limit` has passed.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 1s) {
    return loop.run_until(done, limit);
  }
};

TEST(coalescing_socket, a_write_with_nothing_ahead_is_sent_at_once) {
  socket_pair s;
  auto w = s.write("hello");
  ASSERT_TRUE(s.run_until([&] { return w->done; }));
  EXPECT_FALSE(w->ec);
  EXPECT_EQ(w->n, 5u);
  std::string got;
  ASSERT_TRUE(s.run_until([&] { return (got += s.drain_peer()) == "hello"; })) << got;
}

// The bytes of one unmasked text frame carrying `payload`.
std::string text_frame(const std::string& payload) {
  std::string out(1, static_cast<char>(0x81));
  if (payload.size() < 126) {
    out += static_cast<char>(payload.size());
  } else if (payload.size() <= 0xffff) {
    out += static_cast<char>(126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int b = 7; b >= 0; --b) out += static_cast<char>((payload.size() >> (8 * b)) & 0xff);
  }
  return out + payload;
}

std::vector<coalescing_socket::frame_ptr> frames_of(std::initializer_list<std::string> texts) {
  std::vector<coalescing_socket::frame_ptr> frames;
  for (const auto& t : texts) frames.push_back(std::make_shared<const std::string>(t));
  return frames;
}

TEST(coalescing_socket, a_run_of_frames_goes_out_framed_in_order_in_one_send) {
  socket_pair s;
  metrics::value sends{};
  s.ours.emplace(tcp::socket(std::move(s.ours->next_layer())), s.ioc.get_executor(), &s.ring, &sends);
  const std::string medium(300, 'm'), large(70000, 'l');
  s.ours->write_text_frames(frames_of({"a", medium, large, "z"}));
  const std::string expected = text_frame("a") + text_frame(medium) + text_frame(large) + text_frame("z");
  std::string got;
  ASSERT_TRUE(s.run_until([&] {
    got += s.drain_peer();
    return got.size() >= expected.size();
  }, 5s)) << got.size();
  EXPECT_EQ(got, expected);
  // One sendmsg, and one more for what the kernel did not take at once.
  EXPECT_LE(metrics::get(sends), 2u);
}

TEST(coalescing_socket, a_run_behind_unsent_bytes_waits_its_turn) {
  socket_pair s;
  if (!s.ring.available()) GTEST_SKIP() << "io_uring unavailable here: " << s.ring.unavailable_reason();
  std::shared_ptr<socket_pair::outcome> w;
  {
    send_ring::batch batch(s.ring);
    w = s.write("first");
    s.ours->write_text_frames(frames_of({"second"}));
  }
  std::string got;
  const std::string expected = "first" + text_frame("second");
  ASSERT_TRUE(s.run_until([&] { return (got += s.drain_peer()).size() >= expected.size(); })) << got;
  EXPECT_EQ(got, expected);
}

TEST(coalescing_socket, room_comes_back_once_the_peer_reads) {
  socket_pair s;
  s.peer.set_option(asio::socket_base::receive_buffer_size(64 * 1024));
  s.ours->next_layer().set_option(asio::socket_base::send_buffer_size(64 * 1024));
  const std::string chunk(16 * 1024, 'x');
  // Written until the kernel's buffers and then the socket's are full:
  // what is merely unsent at first still goes to the kernel meanwhile.
  for (int runs = 0; runs < 1000; ++runs) {
    if (s.ours->has_room()) {
      s.ours->write_text_frames(frames_of({chunk}));
      continue;
    }
    s.run_until([] { return false; }, 50ms);
    if (!s.ours->has_room()) break;
  }
  ASSERT_FALSE(s.ours->has_room()) << "a peer that reads nothing never filled the buffer";
  bool room = false;
  s.ours->when_room([&] { room = true; });
  s.run_until([] { return false; }, 100ms);
  EXPECT_FALSE(room);
  std::size_t got = 0;
  ASSERT_TRUE(s.run_until([&] {
    got += s.drain_peer().size();
    return room;
  }, 5s));
  EXPECT_TRUE(s.ours->has_room());
}

TEST(coalescing_socket, past_the_limit_a_write_waits_until_the_peer_reads) {
  socket_pair s;
  // Fixed kernel buffers (no autotuning), yet not so small that TCP's
  // silly-window avoidance stalls the transfer.
  s.peer.set_option(asio::socket_base::receive_buffer_size(64 * 1024));
  s.ours->next_layer().set_option(asio::socket_base::send_buffer_size(64 * 1024));
  const std::string chunk(16 * 1024, 'x');
  const std::size_t chunks = 128;  // 2 MiB: far past the limit plus both kernel buffers

  std::vector<std::shared_ptr<socket_pair::outcome>> writes;
  // One write at a time, as Beast does: the next starts when the last completed.
  std::function<void()> next = [&] {
    if (writes.size() == chunks) return;
    auto w = std::make_shared<socket_pair::outcome>();
    writes.push_back(w);
    auto bytes = std::make_shared<std::string>(chunk);
    s.ours->async_write_some(asio::buffer(*bytes), [w, bytes, &next](error_code ec, std::size_t n) {
      *w = {true, ec, n};
      if (!ec) next();
    });
  };
  next();
  s.run_until([] { return false; }, 300ms);
  ASSERT_LT(writes.size(), chunks) << "every write completed although the peer read nothing";
  EXPECT_FALSE(writes.back()->done) << "the last write started should be the one held";

  std::string got;
  ASSERT_TRUE(s.run_until([&] {
    got += s.drain_peer();
    return got.size() == chunks * chunk.size() && writes.back()->done;
  }, 10s)) << got.size();
  EXPECT_EQ(got, std::string(chunks * chunk.size(), 'x'));
  for (const auto& w : writes) EXPECT_TRUE(w->done && !w->ec);
}

TEST(coalescing_socket, teardown_sends_what_is_gathered_before_the_fin) {
  socket_pair s;
  if (!s.ring.available()) GTEST_SKIP() << "io_uring unavailable here: " << s.ring.unavailable_reason();
  std::shared_ptr<socket_pair::outcome> w;
  bool torn_down = false;
  {
    // Queued on the ring, so still unsent when the teardown begins.
    send_ring::batch batch(s.ring);
    w = s.write("last words");
    async_teardown(beast::role_type::server, *s.ours, [&](error_code) { torn_down = true; });
  }

  std::string got;
  bool eof = false;
  char buf[256];
  s.peer.non_blocking(true);
  ASSERT_TRUE(s.run_until([&] {
    error_code ec;
    std::size_t n = s.peer.read_some(asio::buffer(buf), ec);
    got.append(buf, n);
    eof = ec == asio::error::eof;
    return eof;
  }));
  EXPECT_EQ(got, "last words");
  s.peer.close();
  ASSERT_TRUE(s.run_until([&] { return torn_down; }));
  EXPECT_TRUE(w->done && !w->ec);
}

TEST(coalescing_socket, once_a_send_fails_every_later_write_fails) {
  socket_pair s;
  // Closing with linger 0 resets the connection: sends to it fail.
  s.peer.set_option(asio::socket_base::linger(true, 0));
  s.peer.close();
  std::vector<std::shared_ptr<socket_pair::outcome>> writes;
  for (int i = 0; i < 20; ++i) {
    writes.push_back(s.write("ping"));
    ASSERT_TRUE(s.run_until([&] { return writes.back()->done; }));
  }
  auto first_failure = std::find_if(writes.begin(), writes.end(), [](const auto& w) { return w->ec.failed(); });
  ASSERT_NE(first_failure, writes.end()) << "no write failed on a reset connection";
  for (auto it = first_failure; it != writes.end(); ++it) EXPECT_TRUE((*it)->ec.failed());
  EXPECT_FALSE(s.ours->next_layer().is_open()) << "a failed send closes the socket, so that the read side ends";
}

TEST(coalescing_socket, a_write_in_a_batch_goes_out_when_the_batch_closes) {
  socket_pair s;
  if (!s.ring.available()) GTEST_SKIP() << "io_uring unavailable here: " << s.ring.unavailable_reason();
  std::shared_ptr<socket_pair::outcome> w;
  {
    send_ring::batch batch(s.ring);
    w = s.write("batched");
    EXPECT_FALSE(w->done);
  }
  std::string got;
  ASSERT_TRUE(s.run_until([&] { return (got += s.drain_peer()) == "batched" && w->done; })) << got;
  EXPECT_FALSE(w->ec);
  EXPECT_EQ(w->n, 7u);
}

TEST(coalescing_socket, without_io_uring_a_write_in_a_batch_is_sent_at_once) {
  socket_pair s;
  send_ring refused(0);
  s.ours.emplace(tcp::socket(std::move(s.ours->next_layer())), s.ioc.get_executor(), &refused);
  send_ring::batch batch(refused);
  auto w = s.write("direct");
  std::string got;
  ASSERT_TRUE(s.run_until([&] { return (got += s.drain_peer()) == "direct" && w->done; })) << got;
}

TEST(coalescing_socket, a_batched_write_the_kernel_refuses_follows_later_in_order) {
  socket_pair s;
  if (!s.ring.available()) GTEST_SKIP() << "io_uring unavailable here: " << s.ring.unavailable_reason();
  // Fill the kernel's buffers first, so that the batched send gets EAGAIN.
  const std::string filler(4096, 'f');
  std::size_t filled = 0;
  for (;;) {
    ssize_t n = ::send(s.ours->next_layer().native_handle(), filler.data(), filler.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
  }
  std::shared_ptr<socket_pair::outcome> w;
  {
    send_ring::batch batch(s.ring);
    w = s.write("tail");
  }
  std::string got;
  ASSERT_TRUE(s.run_until([&] {
    got += s.drain_peer();
    return got.size() == filled + 4 && w->done;
  }, 5s)) << got.size() << " of " << filled + 4;
  EXPECT_EQ(got.substr(filled), "tail");
  EXPECT_FALSE(w->ec);
}

TEST(coalescing_socket, a_batched_write_to_a_reset_connection_fails_and_closes_the_socket) {
  socket_pair s;
  if (!s.ring.available()) GTEST_SKIP() << "io_uring unavailable here: " << s.ring.unavailable_reason();
  s.peer.set_option(asio::socket_base::linger(true, 0));
  s.peer.close();
  // The first send after a reset may still succeed; a second one fails.
  std::vector<std::shared_ptr<socket_pair::outcome>> writes;
  for (int i = 0; i < 20 && (writes.empty() || !writes.back()->ec); ++i) {
    {
      send_ring::batch batch(s.ring);
      writes.push_back(s.write("ping"));
    }
    ASSERT_TRUE(s.run_until([&] { return writes.back()->done; }));
  }
  EXPECT_TRUE(writes.back()->ec.failed()) << "no batched write failed on a reset connection";
  EXPECT_FALSE(s.ours->next_layer().is_open());
}

}  // namespace
}  // namespace switchboard
