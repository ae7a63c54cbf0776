#pragma once
// The backend API (PROTOCOL.md, "Backend API"): what a backend may do over
// HTTP with the operator's key. Publishing goes through the one publish
// path and its gate, so 202 means the broker has taken every message;
// nothing is ever answered 202 and then dropped.
//
//   POST /api/publish     one message, or an array of up to 1,000: all or none
//   GET  /api/presence    ?room=R: members with their users
//   GET  /api/history     ?room=R&limit=N&since=N&epoch=E: as the client's history
//   POST /api/disconnect  {"user":U} or {"id":ID}, cluster-wide
//   GET  /api/stats       nodes, workers, connections, rooms

#include <array>
#include <cstddef>
#include <string_view>

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "common/net.hpp"
#include "server/cluster/bus.hpp"
#include "server/cluster/history_store.hpp"
#include "server/cluster/presence_store.hpp"
#include "server/cluster/publisher.hpp"
#include "server/net/room_service.hpp"

namespace switchboard {

class backend_api {
 public:
  backend_api(const config& cfg, publisher& messages, room_service& rooms, presence_store& presence,
              history_store& history, bus& cluster, metrics::worker_metrics& counters);

  // "/api" and everything under "/api/".
  static bool is_api_path(std::string_view path);

  // The answer to an /api/ request; counted by route and status.
  asio::awaitable<http::response<http::string_body>> respond(const http::request<http::string_body>& req);
  // The answer to an /api/ request whose body was over the limit.
  http::response<http::string_body> too_large(const http::request<http::string_body>& req);

 private:
  struct route;
  asio::awaitable<http::response<http::string_body>> dispatch(const http::request<http::string_body>& req,
                                                              std::size_t& route_index);
  bool authorized(const http::request<http::string_body>& req) const;

  asio::awaitable<http::response<http::string_body>> publish(const http::request<http::string_body>& req);
  asio::awaitable<http::response<http::string_body>> presence(const http::request<http::string_body>& req);
  asio::awaitable<http::response<http::string_body>> history(const http::request<http::string_body>& req);
  asio::awaitable<http::response<http::string_body>> disconnect(const http::request<http::string_body>& req);
  asio::awaitable<http::response<http::string_body>> stats(const http::request<http::string_body>& req);

  const config& cfg_;
  publisher& messages_;
  room_service& rooms_;
  presence_store& presence_;
  history_store& history_;
  bus& bus_;
  metrics::worker_metrics& metrics_;
  std::array<unsigned char, 32> key_digest_{};  // SHA-256 of the key, compared in constant time
};

}  // namespace switchboard
