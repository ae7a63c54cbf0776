#pragma once
// A WebSocket client for integration tests. It lives on a test_loop; a read
// loop parses every frame the server sends into an inbox, and every wait is
// bounded: a wait that times out fails the test with a message saying what
// the client was waiting for and what it had.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/net.hpp"
#include "tests/support/test_loop.hpp"

namespace switchboard::testing {

using json = nlohmann::json;

// Long enough for a loaded two-core machine, short enough to fail promptly.
inline constexpr std::chrono::milliseconds default_wait{10000};

// Thrown after a wait has failed the test (ADD_FAILURE), to end the test body.
class wait_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct connect_options {
  // Read nothing after the welcome until resume_reading().
  bool paused = false;
  // SO_RCVBUF set before connecting (so the window really is small); 0 keeps the default.
  int receive_buffer = 0;
};

class ws_client {
 public:
  explicit ws_client(test_loop& loop);
  ~ws_client();
  ws_client(ws_client&&) noexcept;
  ws_client& operator=(ws_client&&) noexcept;

  // Connects to "ws://127.0.0.1:<port>/<path>" and returns after the welcome
  // frame; fails the test if that takes longer than `timeout`.
  void connect(const std::string& url, connect_options options = {},
               std::chrono::milliseconds timeout = default_wait);

  // From the welcome frame.
  const std::string& id() const;
  const std::string& node() const;
  int worker() const;
  // The welcome's `user` (with auth); empty when it has none.
  const std::string& user() const;
  // The worker key: the part of the id before the '.'.
  std::string worker_key() const;
  // The client end's TCP port (to find the worker process that serves it).
  std::uint16_t local_port() const;

  // Queue a frame; frames go out in order, pipelined, while the loop runs.
  void send_text(std::string text);
  void send_json(const json& frame) { send_text(frame.dump()); }
  void send_binary(std::string bytes);
  // A text message sent as continuation frames of `fragment` bytes each.
  void send_fragmented(std::string text, std::size_t fragment);

  // The next frame, waiting up to `timeout`.
  json next(std::chrono::milliseconds timeout = default_wait);
  // The first frame of `type`; frames of other types stay queued, in order.
  json next_of_type(std::string_view type, std::chrono::milliseconds timeout = default_wait);
  // The first answer to a request (ack, error, pong, ...); deliveries stay queued.
  json next_answer(std::chrono::milliseconds timeout = default_wait);
  // The same, but nothing (and no test failure) when the connection ends
  // before an answer came: for a client that then connects again.
  std::optional<json> next_answer_unless_closed(std::chrono::milliseconds timeout = default_wait);
  // Takes every frame received so far.
  std::deque<json> take_all();

  // Stop reading: the server's frames pile up in the socket (and then in the
  // server's queue for this client) until resume_reading().
  void pause_reading();
  void resume_reading();

  // True until the read loop has ended (close frame, error or reset).
  bool is_open() const;
  // Waits until the connection has ended; the read loop must be running.
  bool wait_closed(std::chrono::milliseconds timeout = default_wait);
  // The close frame the server sent: code 0 and no reason when there was none.
  int close_code() const;
  std::string close_reason() const;
  // Why the read loop ended, for messages.
  std::string end_reason() const;

  // "client <id> (worker N)" for failure messages.
  std::string describe() const;

  // The connection's state, shared with the coroutines that serve it so that
  // they outlive a ws_client destroyed mid-operation.
  struct session;

 private:
  void queue(std::string bytes, bool binary, std::size_t fragment);
  // Takes the first frame that `match` accepts, waiting for one up to `timeout`.
  json take_first(const std::function<bool(const json&)>& match, std::string_view what,
                  std::chrono::milliseconds timeout);
  [[noreturn]] void fail(const std::string& what) const;

  test_loop* loop_;
  std::shared_ptr<session> session_;
};

// Connects clients until one lands on worker `index` (SO_REUSEPORT spreads new
// connections at random); the ones that landed elsewhere are dropped.
ws_client connect_on_worker(test_loop& loop, const std::string& url, int index, connect_options options = {});

}  // namespace switchboard::testing
