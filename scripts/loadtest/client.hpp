#pragma once
// One WebSocket connection of the load tester: connect (bound to a source
// address, TCP_NODELAY), upgrade, welcome; then frames in and out. It holds
// little: the stream, a small reused read buffer, its id and worker.

#include <string>
#include <string_view>
#include <utility>

#include "common/net.hpp"
#include "scripts/loadtest/clock.hpp"
#include "scripts/loadtest/target.hpp"

namespace switchboard::load {

// Why opening failed, as a stats key: "<stage>.<reason>", e.g.
// "connect.connection_refused" or "upgrade.http_503"; empty on success.
using open_failure = std::string;

class client {
 public:
  // `write_buffer`: Beast masks outgoing frames through a buffer of this
  // size, allocated per connection; receivers need only a small one.
  client(asio::io_context& ioc, std::size_t write_buffer);

  // Connects from `source` (unspecified address: the kernel's choice) and
  // waits for the welcome, all within `timeout`. A non-empty `token` goes
  // in the upgrade as "Authorization: Bearer <token>".
  asio::awaitable<open_failure> open(const target& to, const asio::ip::address& source, nanos timeout,
                                     std::string token);

  // The next text frame; the view is valid until the next read.
  asio::awaitable<std::pair<error_code, std::string_view>> read();
  // At most one write in flight per connection (Beast requires it): each
  // connection has a single writer.
  asio::awaitable<error_code> write(std::string_view text);
  // A WebSocket close handshake (1000), for churn.
  asio::awaitable<void> close();
  // Drops the TCP connection at once, ending pending operations.
  void abort();

  // The peer's close code after read() failed: 1006 when no close frame came.
  int close_code() const;
  const std::string& id() const { return id_; }
  asio::io_context::executor_type executor() { return ws_.get_executor(); }
  int worker() const { return worker_; }

 private:
  // A plain socket on the io_context's own executor type: no timers per
  // operation (beast::tcp_stream) and no type-erased executor copies on the
  // receive path. Opening has its own deadline.
  using socket_type = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

  websocket::stream<socket_type> ws_;
  beast::flat_buffer buffer_;
  std::string id_;
  int worker_ = -1;
};

}  // namespace switchboard::load
