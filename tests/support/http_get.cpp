#include "tests/support/http_get.hpp"

#include "common/net.hpp"

namespace switchboard::testing {
namespace {

asio::awaitable<void> exchange(std::uint16_t port, std::string target, std::chrono::milliseconds timeout,
                               http_response& out) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  // One deadline for the whole exchange: connect, write and read.
  stream.expires_after(timeout);
  auto [cec] = co_await stream.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), use_nothrow);
  if (cec) {
    out.error = "connect: " + cec.message();
    co_return;
  }
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.keep_alive(false);
  auto [wec, written] = co_await http::async_write(stream, req, use_nothrow);
  if (wec) {
    out.error = "write: " + wec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  auto [rec, read] = co_await http::async_read(stream, buffer, res, use_nothrow);
  if (rec) {
    out.error = "read: " + rec.message();
    co_return;
  }
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
}

}  // namespace

http_response http_get(std::uint16_t port, std::string_view path, std::chrono::milliseconds timeout) {
  asio::io_context ioc{1};
  http_response out;
  asio::co_spawn(ioc, exchange(port, std::string(path), timeout, out), asio::detached);
  ioc.run();
  return out;
}

}  // namespace switchboard::testing
