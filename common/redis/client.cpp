#include "common/redis/client.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/spawn.hpp"
#include "common/redis/error.hpp"

namespace switchboard::redis {

client::client(asio::any_io_executor ex, client_options options)
    : ex_(ex), options_(std::move(options)), backoff_timer_(ex) {}

void client::start() {
  spawn(ex_, reconnect_loop(), "redis client");
}

void client::stop() {
  stopped_ = true;
  backoff_timer_.cancel();
  if (conn_) conn_->close();
}

asio::awaitable<void> client::reconnect_loop() {
  auto backoff = options_.backoff_min;
  bool logged_failure = false;
  while (!stopped_) {
    auto conn = std::make_shared<connection>(ex_, options_.command_timeout);
    error_code ec = co_await conn->connect(options_.where, options_.connect_timeout);
    if (stopped_) break;
    if (!ec) {
      conn_ = conn;
      if (ever_up_) ++reconnects_;
      ever_up_ = true;
      if (logged_failure) log::info(options_.name + ": connected to " + options_.where->describe());
      logged_failure = false;
      backoff = options_.backoff_min;
      if (on_up) on_up();
      ec = co_await conn->run(on_push);
      conn_.reset();
      if (on_down) on_down(ec);
      if (stopped_) break;
    }
    if (!logged_failure) {
      log::warn(options_.name + ": " + options_.where->describe() + ": " + ec.message() + "; reconnecting");
      logged_failure = true;
    }
    backoff_timer_.expires_after(backoff);
    co_await backoff_timer_.async_wait(use_nothrow);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

asio::awaitable<connection::result> client::request(std::span<const std::string_view> args) {
  if (!is_up()) co_return connection::result{make_error_code(errc::unavailable), nullptr};
  // Keep the connection alive across the wait even if it is replaced.
  auto conn = conn_;
  co_return co_await conn->request(args);
}

asio::awaitable<connection::result> client::transaction(std::span<const std::vector<std::string>> commands) {
  if (!is_up()) co_return connection::result{make_error_code(errc::unavailable), nullptr};
  auto conn = conn_;
  co_return co_await conn->transaction(commands);
}

void client::send(std::span<const std::string_view> args) {
  if (is_up()) conn_->send(args);
}

void client::send_ignoring_reply(std::span<const std::string_view> args) {
  if (is_up()) conn_->send_ignoring_reply(args);
}

}  // namespace switchboard::redis
