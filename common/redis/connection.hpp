#pragma once
// One RESP connection to Redis over TCP or a unix socket. Asio does the I/O,
// hiredis is the codec. Commands are pipelined: each is appended to the
// write buffer at once, the buffer is written once per turn of the event
// loop, and Redis answers in order, so a FIFO of waiting requests matches
// replies to requests.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <tuple>

#include "common/net.hpp"
#include "common/redis/endpoint.hpp"
#include "common/redis/locator.hpp"
#include "common/redis/reply.hpp"

namespace switchboard::redis {

class connection : public std::enable_shared_from_this<connection> {
 public:
  using result = std::tuple<error_code, reply_ptr>;
  // Receives replies that answer no request (pub/sub pushes).
  using push_handler = std::function<void(reply_ptr)>;

  // A request still unanswered after `command_timeout` fails the connection:
  // a Redis that stopped answering must not hold publishers forever.
  connection(asio::any_io_executor ex, std::chrono::milliseconds command_timeout);

  // Opens the socket, then AUTH and SELECT as the endpoint asks, then, for
  // an endpoint marked primary_only, ROLE: a replica fails the connect with
  // errc::not_primary.
  asio::awaitable<error_code> connect(const endpoint& ep, std::chrono::milliseconds timeout);
  // Asks `where` for the endpoint first (every connect asks anew), and tells
  // it when a READONLY reply shows that the server has been demoted; the
  // connection then fails with errc::not_primary.
  asio::awaitable<error_code> connect(std::shared_ptr<locator> where, std::chrono::milliseconds timeout);

  // Reads until the connection fails or is closed and returns why; then
  // every waiting request has completed with that error.
  asio::awaitable<error_code> run(push_handler on_push);

  // Queues a command whose reply goes to the push handler.
  void send(std::span<const std::string_view> args);
  // Queues a command in line with the requests, its reply dropped.
  void send_ignoring_reply(std::span<const std::string_view> args);

  // Queues a command and waits for its reply. An error reply completes with
  // errc::server_error and the reply itself.
  asio::awaitable<result> request(std::span<const std::string_view> args);

  // Runs `commands` as one MULTI/EXEC transaction, appended to the pipe in
  // one piece; completes with EXEC's reply, an array of their replies.
  asio::awaitable<result> transaction(std::span<const std::vector<std::string>> commands);

  void close();
  bool is_open() const { return open_; }
  // "host:port" (or the socket path) of the server, once connected.
  const std::string& peer() const { return peer_; }

 private:
  struct waiter {
    // Empty for replies nobody waits for (MULTI's OK, QUEUED).
    asio::any_completion_handler<void(error_code, reply_ptr)> handler;
    std::chrono::steady_clock::time_point since;
  };

  asio::awaitable<result> handshake_request(std::span<const std::string_view> args);
  // Writes what is pending once this turn's handlers have run.
  void write_soon();
  void start_write();
  void complete_front(error_code ec, reply_ptr reply);
  void fail(error_code ec);
  void arm_watchdog();
  // An error reply that says the server is a replica now.
  bool demoted_by(const reply_ptr& reply) const;

  asio::any_io_executor ex_;
  asio::generic::stream_protocol::socket socket_;
  asio::steady_timer watchdog_;
  std::chrono::milliseconds command_timeout_;
  reply_reader reader_;
  std::string pending_out_;   // commands not yet handed to the socket
  std::string in_flight_;     // the bytes of the one async_write in flight
  bool writing_ = false;      // at most one async_write in flight
  bool write_posted_ = false; // a write_soon() is due
  bool open_ = false;
  error_code failure_;        // why the connection ended, once it has
  std::string peer_;
  bool primary_only_ = false;         // the endpoint asked for a primary
  std::shared_ptr<locator> where_;    // told when the server turns out demoted
  std::deque<waiter> waiters_;
};

}  // namespace switchboard::redis
