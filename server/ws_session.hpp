#pragma once
// One WebSocket client: a read loop that answers requests in order, and a
// write loop that drains a queue bounded in bytes.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/frame_queue.hpp"
#include "common/net.hpp"
#include "common/protocol/request.hpp"

namespace switchboard {

struct worker_context;

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket socket, worker_context& ctx);
  ~ws_session();
  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  // Completes the upgrade that `request` asked for, then serves the client.
  void start(http::request<http::string_body> request);

  // Queues a frame for this client; never waits. Past the queue bound the
  // client is closed with 1008 and the frame is dropped.
  void send(std::shared_ptr<const std::string> frame);
  void send(std::string frame) { send(std::make_shared<const std::string>(std::move(frame))); }

  // Flushes what is queued, then closes with `code`.
  void close(websocket::close_code code, std::string_view reason);

  const std::string& id() const { return id_; }
  // The rooms this session is in (room_service keeps it).
  std::vector<std::string>& rooms() { return rooms_; }

 private:
  asio::awaitable<void> run(http::request<http::string_body> request);
  // Returns why the connection ended.
  asio::awaitable<error_code> read_loop();
  // The close code this session ended with, for metrics.
  int close_code_after(const error_code& why) const;
  asio::awaitable<void> write_loop();
  asio::awaitable<void> handle(std::string_view text);
  asio::awaitable<void> publish(const std::string& channel, std::string envelope,
                                const std::optional<std::string>& ref);
  void answer_error(protocol::error_kind kind, std::string_view message, const std::optional<std::string>& ref);
  void force_close_after(std::chrono::seconds grace);

  websocket::stream<tcp::socket> ws_;
  worker_context& ctx_;
  beast::flat_buffer buffer_;
  std::string id_;
  std::vector<std::string> rooms_;
  frame_queue queue_;                 // not counting the frame being written
  asio::steady_timer writer_wake_;    // the write loop parks here while the queue is empty
  asio::steady_timer close_deadline_; // a close that does not finish in time ends the socket
  std::optional<websocket::close_reason> closing_;
  bool ended_ = false;                // the read loop is over
};

}  // namespace switchboard
