#pragma once
// One WebSocket client. Reading: one message at a time, the next read starts
// once the request it carried is answered, so answers keep request order.
// Writing: a queue bounded in bytes, drained one frame per Beast write; the
// frames queued together reach the kernel in one send (coalescing_socket).
//
// Shaped for tens of thousands of idle clients per worker: callbacks rather
// than coroutines, so an idle session holds one pending read into a small
// buffer of its own and nothing else. A coroutine exists only while a request
// waits on Redis, and a large buffer only while a long message is read.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/permissions.hpp"
#include "common/frame_queue.hpp"
#include "common/net.hpp"
#include "common/protocol/frames.hpp"
#include "common/protocol/request.hpp"
#include "common/request_budget.hpp"
#include "server/net/admission.hpp"
#include "server/net/coalescing_socket.hpp"
#include "server/net/expiry_wheel.hpp"
#include "server/net/recipient.hpp"

namespace switchboard {

struct worker_context;

class ws_session final : public recipient, public expiring, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket socket, worker_context& ctx);
  ~ws_session();
  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  // Completes the upgrade that `request` asked for, then serves the client
  // as `who` (anonymous, or what its token says).
  void start(http::request<http::string_body> request, identity who);

  // Queues a frame for this client; never waits. Past the queue bound the
  // client is closed with 1008 and the frame is dropped.
  void send(std::shared_ptr<const std::string> frame) override;
  void send(std::string frame) { send(std::make_shared<const std::string>(std::move(frame))); }

  // Flushes what is queued, then closes with `code`.
  void close(websocket::close_code code, std::string_view reason) override;

  const std::string& id() const override { return id_; }
  const std::string& user() const override { return user_; }

  // The token's deadline has passed: closes with 4001.
  void expire() override;

 private:
  void on_accepted(error_code ec, std::optional<std::int64_t> deadline);
  void read_message();
  void on_message_start(error_code ec, std::size_t n);
  void on_message_rest(error_code ec, std::size_t n);
  // Answers one complete message; reading resumes when the answer is queued.
  void on_message(std::string_view text);
  // Why the connection's token (or the operator) does not allow `req`;
  // nullopt when it is allowed.
  std::optional<std::string_view> forbidden(const protocol::request& req) const;
  // The requests that wait on Redis.
  asio::awaitable<void> serve(protocol::request req);
  asio::awaitable<void> refresh(const protocol::request& req);
  asio::awaitable<void> join(const protocol::request& req);
  asio::awaitable<void> history(const protocol::request& req);
  // The first request ends the hold of the personal room (room_service::
  // hold_personal), unless it is the join that recovers it.
  void end_personal_hold(const protocol::request* req);
  asio::awaitable<void> publish(protocol::scope scope, const protocol::request& req, std::string_view target);
  void answer_error(protocol::error_kind kind, std::string_view message, const std::optional<std::string>& ref);
  // With the kind's own message (describe()).
  void answer_error(protocol::error_kind kind, const std::optional<std::string>& ref);
  // The read side is over: the session leaves the hub and its rooms.
  void end(const error_code& why);
  // The close code this session ended with, for metrics.
  int close_code_after(const error_code& why) const;

  void write_next();
  void on_written(error_code ec, std::size_t n);
  void begin_close(websocket::close_reason reason);

  // Allocated only once the session starts closing.
  struct closing_state {
    closing_state(websocket::close_reason r, const asio::any_io_executor& ex) : reason(std::move(r)), deadline(ex) {}
    websocket::close_reason reason;
    asio::steady_timer deadline;  // a close that does not finish in time ends the socket
    bool frame_started = false;   // async_close is under way
  };

  // Most requests fit here; a longer message continues in long_message_.
  static constexpr std::size_t short_message_bytes = 256;

  // Without permessage-deflate, which the protocol does not use: Beast then
  // leaves its compression state and code paths out.
  websocket::stream<coalescing_socket, false> ws_;
  worker_context& ctx_;
  std::string id_;
  std::string user_;  // the token's sub; empty when anonymous
  std::shared_ptr<const auth::permissions> grants_;  // shared by equal tokens; null when anonymous
  request_budget budget_;
  frame_queue queue_;                            // not counting the frame being written
  std::shared_ptr<const std::string> writing_;   // the frame Beast is writing, if any
  std::unique_ptr<closing_state> closing_;
  std::unique_ptr<beast::flat_buffer> long_message_;
  std::array<char, short_message_bytes> short_message_;
  bool ended_ = false;         // the read side is over
  bool write_failed_ = false;  // nothing more can be written
  bool personal_held_ = false;  // until the first request
};

}  // namespace switchboard
