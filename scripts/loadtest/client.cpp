#include "scripts/loadtest/client.hpp"

#include <netinet/in.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

namespace switchboard::load {
namespace {

// Largest frame accepted: the server's default limit is 64 KiB per message,
// a presence list may be longer.
constexpr std::size_t read_message_max = 1 << 20;
// Bounds a close handshake (churn), as the server bounds its own.
constexpr std::chrono::seconds close_timeout{5};
constexpr std::string_view user_agent = "switchboard-load";

void set_user_agent(websocket::request_type& req) { req.set(http::field::user_agent, user_agent); }

std::string reason_of(const char* stage, const error_code& ec) {
  std::string key = stage;
  key += '.';
  for (char c : ec.message()) key += c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

client::client(asio::io_context& ioc, std::size_t write_buffer) : ws_(ioc.get_executor()) {
  ws_.write_buffer_bytes(write_buffer);
  ws_.read_message_max(read_message_max);
  ws_.auto_fragment(false);
  ws_.set_option(websocket::stream_base::decorator(set_user_agent));
}

asio::awaitable<open_failure> client::open(const target& to, const asio::ip::address& source, nanos timeout,
                                           std::string token) {
  using namespace asio::experimental::awaitable_operators;
  auto& socket = ws_.next_layer();
  error_code ec;
  socket.open(to.endpoint.protocol(), ec);
  if (ec) co_return reason_of("socket", ec);
  socket.set_option(tcp::no_delay(true), ec);
  if (!source.is_unspecified()) {
    // Take the port at connect time, not at bind: the port can then be
    // shared with other server addresses, and bind never runs out first.
    int on = 1;
    setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    socket.bind(tcp::endpoint(source, 0), ec);
    if (ec) co_return reason_of("bind", ec);
  }
  const nanos deadline = now_ns() + timeout;
  asio::steady_timer timer(ws_.get_executor(), to_time_point(deadline));
  auto connected = co_await (socket.async_connect(to.endpoint, use_nothrow) || timer.async_wait(use_nothrow));
  if (connected.index() == 1) co_return "connect.timed_out";
  if (auto [cec] = std::get<0>(connected); cec) co_return reason_of("connect", cec);

  // The rest of the deadline covers the upgrade and the welcome (an idle
  // read times out); afterwards nothing does: the server pings idle
  // connections and Beast answers by itself.
  const auto left = std::chrono::nanoseconds(std::max<nanos>(deadline - now_ns(), 1));
  ws_.set_option(websocket::stream_base::timeout{left, left, false});
  const bool bearer = !token.empty();
  if (bearer) {
    // One decorator per stream: this one replaces the constructor's.
    ws_.set_option(websocket::stream_base::decorator(
        [value = "Bearer " + std::move(token)](websocket::request_type& req) {
          set_user_agent(req);
          req.set(http::field::authorization, value);
        }));
  }
  websocket::response_type response;
  auto [hec] = co_await ws_.async_handshake(response, to.host_header, to.resource, use_nothrow);
  if (hec == websocket::error::upgrade_declined) co_return "upgrade.http_" + std::to_string(response.result_int());
  if (hec) co_return reason_of("upgrade", hec);
  // The token is not needed again: release it, a connection holds little.
  if (bearer) ws_.set_option(websocket::stream_base::decorator(set_user_agent));

  auto [rec, text] = co_await read();
  if (rec) co_return reason_of("welcome", rec);
  ws_.set_option(websocket::stream_base::timeout{close_timeout, websocket::stream_base::none(), false});
  // The welcome is parsed in full: it is one frame per connection.
  auto welcome = nlohmann::json::parse(text, nullptr, false);
  if (!welcome.is_object() || welcome.value("type", "") != "welcome" || !welcome["id"].is_string())
    co_return "welcome.not_a_welcome";
  id_ = welcome["id"].get<std::string>();
  worker_ = welcome.value("worker", -1);
  co_return open_failure{};
}

asio::awaitable<std::pair<error_code, std::string_view>> client::read() {
  // Consume what the last read returned only now, so its view stayed valid.
  buffer_.consume(buffer_.size());
  auto [ec, n] = co_await ws_.async_read(buffer_, use_nothrow);
  if (ec) co_return std::pair{ec, std::string_view{}};
  auto data = buffer_.cdata();
  co_return std::pair{ec, std::string_view(static_cast<const char*>(data.data()), data.size())};
}

asio::awaitable<error_code> client::write(std::string_view text) {
  auto [ec, n] = co_await ws_.async_write(asio::buffer(text.data(), text.size()), use_nothrow);
  co_return ec;
}

asio::awaitable<void> client::close() {
  co_await ws_.async_close(websocket::close_code::normal, use_nothrow);
}

void client::abort() {
  error_code ignored;
  ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  ws_.next_layer().close(ignored);
}

int client::close_code() const {
  auto code = ws_.reason().code;
  return code == websocket::close_code::none ? 1006 : static_cast<int>(code);
}

}  // namespace switchboard::load
