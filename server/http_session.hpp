#pragma once
// One HTTP connection: routes /, /healthz and unknown paths, and hands an
// upgrade to /ws over to a ws_session.

#include <memory>

#include "common/net.hpp"

namespace switchboard {

struct worker_context;

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket socket, worker_context& ctx);
  void start();

 private:
  asio::awaitable<void> run();
  http::message_generator respond(const http::request<http::string_body>& req);
  // True once the worker's subscriber holds its channels, waiting up to `limit`.
  asio::awaitable<bool> subscribed_within(std::chrono::seconds limit);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  worker_context& ctx_;
};

}  // namespace switchboard
