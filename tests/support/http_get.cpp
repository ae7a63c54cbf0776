#include "tests/support/http_get.hpp"

#include <cctype>

#include "common/net.hpp"

namespace switchboard::testing {
namespace {

asio::awaitable<void> exchange(http::request<http::string_body> req, std::uint16_t port,
                               std::chrono::milliseconds timeout, http_response& out) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  // One deadline for the whole exchange: connect, write and read.
  stream.expires_after(timeout);
  auto [cec] = co_await stream.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), use_nothrow);
  if (cec) {
    out.error = "connect: " + cec.message();
    co_return;
  }
  auto [wec, written] = co_await http::async_write(stream, req, use_nothrow);
  if (wec) {
    out.error = "write: " + wec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  // A response to HEAD has a Content-Length and no body.
  parser.skip(req.method() == http::verb::head);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_nothrow);
  if (rec) {
    out.error = "read: " + rec.message();
    co_return;
  }
  auto res = parser.release();
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(res.body());
}

}  // namespace

http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const http_headers& headers, std::string body, std::chrono::milliseconds timeout) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [name, value] : headers) req.set(name, value);
  req.keep_alive(false);
  if (!body.empty()) {
    req.body() = std::move(body);
    req.prepare_payload();
  }

  asio::io_context ioc{1};
  http_response out;
  asio::co_spawn(ioc, exchange(std::move(req), port, timeout, out), asio::detached);
  ioc.run();
  return out;
}

http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const http_headers& headers, std::chrono::milliseconds timeout) {
  return http_request(port, method, target, headers, std::string(), timeout);
}

http_response http_get(std::uint16_t port, std::string_view path, std::chrono::milliseconds timeout) {
  return http_request(port, "GET", path, {}, timeout);
}

}  // namespace switchboard::testing
