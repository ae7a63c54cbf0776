#pragma once
// A Redis connection that comes back by itself: connects, runs until the
// connection fails, waits a capped, growing backoff and connects again.
// While it is down, requests fail at once with errc::unavailable.

#include <chrono>
#include <array>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/redis/connection.hpp"
#include "common/redis/locator.hpp"

namespace switchboard::redis {

struct client_options {
  std::shared_ptr<locator> where;  // asked before every connect
  std::string name = "redis";                          // for logs
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
  // Local Redis restarts in well under a second; a short cap brings workers
  // back quickly, and a refused connect costs next to nothing.
  std::chrono::milliseconds backoff_min{25};
  std::chrono::milliseconds backoff_max{400};
};

class client {
 public:
  client(asio::any_io_executor ex, client_options options);
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Called on every successful (re)connect and on every loss.
  std::function<void()> on_up;
  std::function<void(error_code)> on_down;
  // Replies that answer no request (pub/sub pushes).
  connection::push_handler on_push;

  void start();
  void stop();
  // Closes the current connection (if any); the loop connects again.
  void reset_connection() {
    if (conn_) conn_->close();
  }
  bool is_up() const { return conn_ && conn_->is_open(); }
  // The server of the current connection ("host:port"); empty while down.
  std::string peer() const { return is_up() ? conn_->peer() : std::string(); }
  std::uint64_t reconnects() const { return reconnects_; }
  // See locator::topology.
  std::string topology() const { return options_.where->topology(); }
  const asio::any_io_executor& executor() const { return ex_; }

  asio::awaitable<connection::result> request(std::span<const std::string_view> args);
  // request("SET", key, value): the arguments must outlive the co_await.
  template <typename... Args>
  asio::awaitable<connection::result> command(const Args&... args) {
    std::array<std::string_view, sizeof...(Args)> argv{std::string_view(args)...};
    co_return co_await request(argv);
  }
  // MULTI/EXEC in one write; see connection::transaction.
  asio::awaitable<connection::result> transaction(std::span<const std::vector<std::string>> commands);
  // Queues a command whose reply goes to on_push; dropped while down.
  void send(std::span<const std::string_view> args);
  // Queues a command in line with the requests, its reply dropped.
  void send_ignoring_reply(std::span<const std::string_view> args);

 private:
  asio::awaitable<void> reconnect_loop();

  asio::any_io_executor ex_;
  client_options options_;
  std::shared_ptr<connection> conn_;
  asio::steady_timer backoff_timer_;
  bool stopped_ = false;
  bool ever_up_ = false;
  std::uint64_t reconnects_ = 0;
};

}  // namespace switchboard::redis
