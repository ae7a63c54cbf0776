// An idle session waits for its socket to turn readable instead of keeping
// a read of Beast's pending (ws_session): whatever comes after a silence, a
// control frame, a message or a close, is read and answered, and frames
// that arrive together are all read, although Beast then holds the later
// ones in its buffer when the first is handed over.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A WebSocket frame as a server sends it (unmasked).
struct frame {
  unsigned opcode = 0;
  std::string payload;
};

// A client written byte by byte: frames go out exactly as built, several in
// one send when asked, and what the server sends is parsed frame by frame.
class raw_client {
 public:
  explicit raw_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("connect");
    send(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }
  ~raw_client() { ::close(fd_); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  // A client's frame: FIN, `opcode`, masked, a payload under 126 bytes.
  static std::string masked(unsigned opcode, std::string_view payload) {
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    std::string out;
    out += static_cast<char>(0x80 | opcode);
    out += static_cast<char>(0x80 | payload.size());
    out.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
    return out;
  }

  void send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }

  // Reads the upgrade's answer and the welcome frame.
  void upgrade() {
    auto deadline = clock::now() + default_wait;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      ASSERT_TRUE(read_more(deadline)) << "no answer to the upgrade; got: " << buffer_;
    }
    ASSERT_EQ(buffer_.rfind("HTTP/1.1 101", 0), 0u) << buffer_;
    buffer_.erase(0, end + 4);
    auto welcome = next(default_wait);
    ASSERT_EQ(welcome.opcode, 1u);
    ASSERT_NE(welcome.payload.find("\"welcome\""), std::string::npos) << welcome.payload;
  }

  // Whether the upgrade was answered with 101 within `timeout` (503 past --max-connections).
  bool upgraded_within(std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!read_more(deadline)) return false;
    }
    return buffer_.rfind("HTTP/1.1 101", 0) == 0;
  }

  // The next frame; opcode 0 and an empty payload when none came in time.
  frame next(std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    for (;;) {
      if (buffer_.size() >= 2) {
        const auto* b = reinterpret_cast<const unsigned char*>(buffer_.data());
        const std::size_t length = b[1] & 0x7f;  // the frames here are short
        if (length < 126 && buffer_.size() >= 2 + length) {
          frame f{b[0] & 0x0fu, buffer_.substr(2, length)};
          buffer_.erase(0, 2 + length);
          return f;
        }
      }
      if (!read_more(deadline)) return {};
    }
  }

  // Whether the server closed the connection within `timeout` (after what it sent).
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    while (read_more(deadline)) {
    }
    return eof_;
  }

 private:
  bool read_more(clock::time_point deadline) {
    if (eof_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

constexpr unsigned text_opcode = 0x1;
constexpr unsigned close_opcode = 0x8;
constexpr unsigned ping_opcode = 0x9;
constexpr unsigned pong_opcode = 0xa;

std::string ping_request(int ref) { return raw_client::masked(text_opcode, "{\"type\":\"ping\",\"ref\":" + std::to_string(ref) + "}"); }

// The JSON pong that answers ping_request(ref).
void expect_pong_for(raw_client& c, int ref) {
  auto f = c.next(default_wait);
  ASSERT_EQ(f.opcode, text_opcode) << "no answer to ping " << ref;
  EXPECT_NE(f.payload.find("\"pong\""), std::string::npos) << f.payload;
  EXPECT_NE(f.payload.find("\"ref\":" + std::to_string(ref)), std::string::npos) << f.payload;
}

TEST_F(cluster_test, a_ping_frame_to_an_idle_session_is_answered) {
  start_server();
  raw_client c(server().port());
  c.upgrade();
  std::this_thread::sleep_for(300ms);  // idle: the session waits for readability
  c.send(raw_client::masked(ping_opcode, "are you there"));
  auto f = c.next(default_wait);
  EXPECT_EQ(f.opcode, pong_opcode);
  EXPECT_EQ(f.payload, "are you there");
  // And the session reads on after it.
  c.send(ping_request(1));
  expect_pong_for(c, 1);
}

TEST_F(cluster_test, frames_that_arrive_together_are_all_read) {
  start_server();
  raw_client c(server().port());
  c.upgrade();
  // Messages and ping frames in one segment: Beast reads them all at once
  // and hands over one message at a time. Beast answers a ping at once,
  // the session's answers leave at the end of the loop's turn: the pongs
  // may come in either order between the two kinds, in order within each.
  auto expect_answers = [&](std::vector<int> refs, std::vector<std::string> pongs) {
    std::vector<int> got_refs;
    std::vector<std::string> got_pongs;
    for (std::size_t i = 0; i < refs.size() + pongs.size(); ++i) {
      auto f = c.next(default_wait);
      if (f.opcode == pong_opcode) {
        got_pongs.push_back(f.payload);
        continue;
      }
      ASSERT_EQ(f.opcode, text_opcode) << "answer " << i << " did not come";
      auto at = f.payload.find("\"ref\":");
      ASSERT_NE(at, std::string::npos) << f.payload;
      got_refs.push_back(std::stoi(f.payload.substr(at + 6)));
    }
    EXPECT_EQ(got_refs, refs);
    EXPECT_EQ(got_pongs, pongs);
  };
  c.send(ping_request(1) + ping_request(2) + raw_client::masked(ping_opcode, "p") + ping_request(3));
  expect_answers({1, 2, 3}, {"p"});
  // A message with a control frame right behind it, then silence.
  c.send(ping_request(4) + raw_client::masked(ping_opcode, "q"));
  expect_answers({4}, {"q"});
  std::this_thread::sleep_for(200ms);
  c.send(ping_request(5));
  expect_answers({5}, {});
}

TEST_F(cluster_test, an_unasked_pong_to_an_idle_session_is_taken_and_what_follows_is_read) {
  start_server();
  raw_client c(server().port());
  c.upgrade();
  std::this_thread::sleep_for(200ms);
  c.send(raw_client::masked(pong_opcode, "unasked"));
  std::this_thread::sleep_for(200ms);
  // A pong and a message together, and a pong alone, then a message.
  c.send(raw_client::masked(pong_opcode, "") + ping_request(1));
  expect_pong_for(c, 1);
  c.send(raw_client::masked(pong_opcode, "x"));
  std::this_thread::sleep_for(100ms);
  c.send(ping_request(2));
  expect_pong_for(c, 2);
}

TEST_F(cluster_test, a_close_while_idle_is_answered_and_the_connection_ends) {
  start_server();
  raw_client c(server().port());
  c.upgrade();
  std::this_thread::sleep_for(300ms);
  c.send(raw_client::masked(close_opcode, std::string("\x03\xe8", 2)));  // 1000
  auto f = c.next(default_wait);
  EXPECT_EQ(f.opcode, close_opcode);
  EXPECT_EQ(f.payload.substr(0, 2), std::string("\x03\xe8", 2));
  EXPECT_TRUE(c.closed_within(5s)) << "the server kept the connection after the close handshake";
}

TEST_F(cluster_test, a_peer_gone_without_a_close_frame_while_idle_is_noticed_at_once) {
  // One connection at most: the next is admitted only once the session of
  // the first has ended.
  start_server({.workers = 1, .extra_flags = {"--max-connections", "1"}});
  {
    raw_client gone(server().port());
    gone.upgrade();
    std::this_thread::sleep_for(300ms);
  }  // FIN, no close frame
  const auto deadline = clock::now() + 5s;
  bool admitted = false;
  while (!admitted && clock::now() < deadline) {
    raw_client next(server().port());
    admitted = next.upgraded_within(500ms);
  }
  EXPECT_TRUE(admitted) << "the idle session of a peer that left was not ended";
}

TEST_F(cluster_test, a_message_after_a_long_idle_is_read) {
  // Ticks every second: in 3.5 s silent the client is pinged and answers
  // (its read loop does), and the session takes those pongs while idle.
  start_server({.extra_flags = {"--idle-seconds", "2"}});
  ws_client c = connect();
  loop_.run_for(3500ms);
  ASSERT_TRUE(c.is_open()) << "a client that answers pings was dropped";
  c.send_json({{"type", "ping"}, {"ref", 9}});
  auto answer = c.next_answer();
  EXPECT_EQ(answer["type"], "pong");
  EXPECT_EQ(answer["ref"], 9);
}

}  // namespace
}  // namespace switchboard::testing
