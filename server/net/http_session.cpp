#include "server/net/http_session.hpp"

#include <algorithm>

#include "common/expected_close.hpp"
#include "common/log.hpp"
#include "common/spawn.hpp"
#include "common/wall_clock.hpp"
#include "server/worker_context.hpp"
#include "server/net/backend_api.hpp"
#include "server/net/ws_session.hpp"

namespace switchboard {
namespace {

// PROTOCOL.md: headers up to 16 KiB are read, so that a token over its
// 8 KiB limit gets its 401; larger headers get 431.
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024;

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

http::response<http::string_body> text_response(const http::request<http::string_body>& req, http::status status,
                                                std::string body, std::string_view type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  // HEAD: the same headers, Content-Length included, and no body.
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

}  // namespace

http_session::http_session(tcp::socket socket, worker_context& ctx, bool api_listener)
    : stream_(std::move(socket)), ctx_(ctx), api_listener_(api_listener) {}

bool http_session::serves_api() const {
  // With a listener of its own, the API is there and only there.
  return ctx_.cfg.api_enabled() && (ctx_.cfg.api_port != 0) == api_listener_;
}

void http_session::start() { spawn(stream_.get_executor(), run(), "http session"); }

asio::awaitable<void> http_session::run() {
  auto self = shared_from_this();
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    // The parser holds any body to the larger limit; the one of its path (the
    // API takes batches) is checked once the header says where it goes.
    parser.body_limit(std::max<std::uint64_t>(body_limit, serves_api() ? ctx_.cfg.api_max_body_bytes : 0));
    stream_.expires_after(ctx_.cfg.handshake_timeout);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, use_nothrow);
    bool to_api = !ec && backend_api::is_api_path(parser.get().target()) && serves_api();
    const std::uint64_t limit = to_api ? ctx_.cfg.api_max_body_bytes : body_limit;
    if (!ec && parser.content_length().value_or(0) > limit) ec = http::error::body_limit;
    if (!ec) std::tie(ec, n) = co_await http::async_read(stream_, buffer_, parser, use_nothrow);
    if (!ec && parser.get().body().size() > limit) ec = http::error::body_limit;
    if (ec) {
      // Too large or malformed: say so before hanging up; else just hang up.
      if (ec == http::error::body_limit && to_api) {
        co_await beast::async_write(stream_, http::message_generator(ctx_.api.too_large(parser.get())), use_nothrow);
      } else if (ec == http::error::header_limit || ec == http::error::body_limit) {
        http::request<http::string_body> bare;
        bool headers = ec == http::error::header_limit;
        auto res = headers ? text_response(bare, http::status::request_header_fields_too_large, "headers too large\n")
                           : text_response(bare, http::status::payload_too_large, "request too large\n");
        res.keep_alive(false);
        co_await http::async_write(stream_, res, use_nothrow);
      } else if (!is_expected_close(ec)) {
        http::request<http::string_body> bare;
        auto res = text_response(bare, http::status::bad_request, "bad request\n");
        res.keep_alive(false);
        co_await http::async_write(stream_, res, use_nothrow);
      }
      break;
    }
    auto req = parser.release();
    bool full = ctx_.cfg.max_connections != 0 && ctx_.sessions >= ctx_.cfg.max_connections;
    if (!api_listener_ && websocket::is_upgrade(req) && path_of(req.target()) == "/ws" && !full) {
      auto verdict = ctx_.admit.admit(req, epoch_seconds());
      if (auto* away = std::get_if<turned_away>(&verdict)) {
        log::debug("upgrade refused: " + away->reason);
        metrics::add(ctx_.metrics.auth_failures[away->token_refusal ? static_cast<std::size_t>(*away->token_refusal)
                                                                    : metrics::origin_failure]);
        auto res = text_response(req, away->status, away->reason + "\n");
        res.keep_alive(false);
        co_await beast::async_write(stream_, http::message_generator(std::move(res)), use_nothrow);
        break;
      }
      // A client is welcomed only by a worker whose subscription holds: one
      // welcomed earlier could miss messages that others acknowledge to it.
      if (!co_await ctx_.bus.welcoming_by(std::chrono::steady_clock::now() + ctx_.cfg.handshake_timeout)) {
        auto res = text_response(req, http::status::service_unavailable, "message bus unavailable; retry\n");
        res.keep_alive(false);
        co_await beast::async_write(stream_, http::message_generator(std::move(res)), use_nothrow);
        break;
      }
      stream_.expires_never();
      std::make_shared<ws_session>(stream_.release_socket(), ctx_)
          ->start(std::move(req), std::move(std::get<identity>(verdict)));
      co_return;
    }
    bool keep_alive = req.keep_alive();
    auto res = co_await respond(req);
    auto [wec, written] = co_await beast::async_write(stream_, std::move(res), use_nothrow);
    if (wec || !keep_alive) break;
  }
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<http::message_generator> http_session::respond(const http::request<http::string_body>& req) {
  // Without the API here, /api/ is as unknown as any other path.
  if (backend_api::is_api_path(req.target())) {
    if (serves_api()) co_return co_await ctx_.api.respond(req);
    co_return text_response(req, http::status::not_found, "not found\n");
  }
  if (api_listener_) co_return text_response(req, http::status::not_found, "not found\n");
  auto path = path_of(req.target());
  bool readable = req.method() == http::verb::get || req.method() == http::verb::head;
  if (path == "/ws") {
    if (websocket::is_upgrade(req))
      co_return text_response(req, http::status::service_unavailable, "too many connections on this worker\n");
    auto res = text_response(req, http::status::upgrade_required, "this endpoint speaks WebSocket only\n");
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    co_return res;
  }
  if (path == "/healthz" && readable) {
    if (ctx_.draining) co_return text_response(req, http::status::service_unavailable, "draining\n");
    if (!ctx_.bus.ready()) co_return text_response(req, http::status::service_unavailable, "redis unavailable\n");
    co_return text_response(req, http::status::ok, "ok");
  }
  if (path == "/metrics" && readable)
    co_return text_response(req, http::status::ok, metrics::render(ctx_.all_metrics, ctx_.cfg.node),
                            "text/plain; version=0.0.4; charset=utf-8");
  if (!readable) {
    auto res = text_response(req, http::status::method_not_allowed, "method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    co_return res;
  }
  co_return static_response(req, path);
}

http::message_generator http_session::static_response(const http::request<http::string_body>& req,
                                                      std::string_view path) {
  auto found = ctx_.files.find(path);
  if (auto* miss = std::get_if<static_miss>(&found)) {
    if (*miss == static_miss::too_large)
      return text_response(req, http::status::forbidden, "file larger than --static-max-bytes\n");
    return text_response(req, http::status::not_found, "not found\n");
  }
  auto& file = std::get<static_file>(found);
  bool unchanged = etag_matches(req[http::field::if_none_match], file.etag);
  auto res = text_response(req, unchanged ? http::status::not_modified : http::status::ok,
                           unchanged ? std::string() : std::move(file.body), file.content_type);
  res.set(http::field::etag, file.etag);
  // Revalidate every time: an edited file shows at once, an unchanged one
  // costs a 304.
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

}  // namespace switchboard
