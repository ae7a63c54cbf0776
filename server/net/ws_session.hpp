#pragma once
// One WebSocket client. Reading: on while requests wait on Redis, up to
// --max-inflight-requests of them (then reading pauses); their answers leave
// in request order (answer_order), and a join, leave or refresh is waited
// for before the next request is read. Writing: a queue bounded in bytes; once per turn of the worker's loop
// (turn_writer) everything queued goes to the socket in one send
// (coalescing_socket).
//
// Shaped for tens of thousands of idle clients per worker: callbacks rather
// than coroutines, and an idle session reads nothing. Once Beast holds none
// of the client's bytes (inbound_frames), it waits for the socket to turn
// readable, a handler of a few words in a block of its own size, with no
// read of Beast's pending and no read buffer; the peer's pongs to the idle
// watch's pings are taken there too, everything else is Beast's to read. A
// coroutine exists only while a request waits on Redis, and a large buffer
// only while a long message is read.

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
#include "server/net/answer_order.hpp"
#include "server/net/coalescing_socket.hpp"
#include "server/net/expiry_wheel.hpp"
#include "server/net/idle_watch.hpp"
#include "server/net/recipient.hpp"
#include "server/net/turn_writer.hpp"

namespace switchboard {

struct worker_context;

class ws_session final : public recipient,
                         public expiring,
                         public watched,
                         public pending_writer,
                         public std::enable_shared_from_this<ws_session> {
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
  // The worker's idle watch asks: pings a silent peer, drops one that stayed silent.
  void idle_tick() override;

 private:
  void on_accepted(error_code ec, std::optional<std::int64_t> deadline);
  // Reads the next message: at once if Beast may hold some of it, else
  // once the socket is readable.
  void read_message();
  void wait_readable();
  void on_readable(error_code ec);
  void read_now();
  void on_message_start(error_code ec, std::size_t n);
  void on_message_rest(error_code ec, std::size_t n);
  // Answers one complete message, or starts the request it carries.
  void on_message(std::string_view text);
  // `frame` answers request `t`; it leaves once every earlier one has.
  void answer(answer_order::ticket t, std::string frame);
  // Request `t` was answered without Redis / has finished.
  void finish_on_the_spot(answer_order::ticket t);
  void finish_request(answer_order::ticket t);
  // Runs request `t`; `alone` ones are waited for before the next read.
  void start(protocol::request req, answer_order::ticket t, bool alone);
  // Whether another request may be read now.
  bool may_read() const;
  // Reads the next message, or pauses reading until a request finishes.
  void read_next();
  // Why the connection's token (or the operator) does not allow `req`;
  // nullopt when it is allowed.
  std::optional<std::string_view> forbidden(const protocol::request& req) const;
  // The requests that wait on Redis.
  asio::awaitable<void> serve(protocol::request req, answer_order::ticket t);
  asio::awaitable<void> refresh(answer_order::ticket t, const protocol::request& req);
  asio::awaitable<void> join(answer_order::ticket t, const protocol::request& req);
  asio::awaitable<void> history(answer_order::ticket t, const protocol::request& req);
  // The first request ends the hold of the personal room (room_service::
  // hold_personal), unless it is the join that recovers it.
  void end_personal_hold(const protocol::request* req);
  asio::awaitable<void> publish(answer_order::ticket t, protocol::scope scope, const protocol::request& req,
                                std::string_view target);
  void answer_error(answer_order::ticket t, protocol::error_kind kind, std::string_view message,
                    const std::optional<std::string>& ref);
  // With the kind's own message (describe()).
  void answer_error(answer_order::ticket t, protocol::error_kind kind, const std::optional<std::string>& ref);
  // The read side is over: the session leaves the hub and its rooms.
  void end(const error_code& why);
  // The close code this session ended with, for metrics.
  int close_code_after(const error_code& why) const;

  // Puts the session on this turn's drain, once.
  void mark_pending();
  // The drain: the queued frames to the socket, then the close frame if due.
  void write_pending() override;
  void begin_close(websocket::close_reason reason);

  // Allocated only once the session starts closing.
  struct closing_state {
    closing_state(websocket::close_reason r, const asio::any_io_executor& ex) : reason(std::move(r)), deadline(ex) {}
    websocket::close_reason reason;
    asio::steady_timer deadline;  // a close that does not finish in time ends the socket
    bool frame_started = false;   // async_close is under way
  };
  // A request that runs alone, read while earlier ones were in flight: it
  // starts when they have finished.
  struct parked_request {
    protocol::request req;
    answer_order::ticket t;
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
  frame_queue queue_;  // not yet handed to the socket
  answer_order answers_;  // of the requests in flight
  std::unique_ptr<closing_state> closing_;
  std::unique_ptr<parked_request> parked_;
  std::unique_ptr<beast::flat_buffer> long_message_;
  // While reading; an idle session has none.
  std::unique_ptr<std::array<char, short_message_bytes>> short_message_;
  std::uint64_t messages_taken_ = 0;  // whole messages Beast has handed over
  bool ended_ = false;         // the read side is over
  bool write_failed_ = false;  // nothing more can be written
  bool personal_held_ = false;  // until the first request
  bool marked_ = false;        // on this turn's drain
  bool heard_ = false;         // the peer sent something since the last idle tick
  bool pinged_ = false;        // and was pinged at the last one
  bool peer_closed_ = false;   // the peer's close frame has arrived
  bool read_paused_ = false;   // no read pending: too many requests in flight, or one that runs alone
  bool waiting_alone_ = false; // a join, leave or refresh is in flight
};

}  // namespace switchboard
