#pragma once
// Accepts connections on the worker's inherited listening socket and starts
// an http_session for each.

#include "common/net.hpp"

namespace switchboard {

struct worker_context;

class listener {
 public:
  // `api`: the API's own listener (--api-port), which serves /api/ alone.
  listener(asio::io_context& ioc, int listen_fd, bool ipv6, worker_context& ctx, bool api = false);
  void start();
  void stop();

 private:
  asio::awaitable<void> accept_loop();

  tcp::acceptor acceptor_;
  worker_context& ctx_;
  bool api_;
};

}  // namespace switchboard
