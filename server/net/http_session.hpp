#pragma once
// One HTTP connection: answers /healthz, /metrics, static files and the
// backend API, and hands an upgrade to /ws over to a ws_session. On the API's
// own listener (--api-port) it answers the API alone.

#include <memory>

#include "common/net.hpp"

namespace switchboard {

struct worker_context;

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  // `api_listener`: the connection came in on the API's own listener.
  http_session(tcp::socket socket, worker_context& ctx, bool api_listener);
  void start();

 private:
  asio::awaitable<void> run();
  // Whether /api/ is served on this connection's listener.
  bool serves_api() const;
  // Answers one request that is not an upgrade; a coroutine, so that a
  // route can wait on Redis (the backend API publishes).
  asio::awaitable<http::message_generator> respond(const http::request<http::string_body>& req);
  // A file from --www-dir: 200 with an ETag, 304 when the client has it, 404
  // or 403.
  http::message_generator static_response(const http::request<http::string_body>& req, std::string_view path);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  worker_context& ctx_;
  const bool api_listener_;
};

}  // namespace switchboard
