#include "server/net/listener.hpp"

#include "common/log.hpp"
#include "common/spawn.hpp"
#include "server/net/http_session.hpp"
#include "server/worker_context.hpp"

namespace switchboard {

listener::listener(asio::io_context& ioc, int listen_fd, bool ipv6, worker_context& ctx, bool api)
    : acceptor_(ioc, ipv6 ? tcp::v6() : tcp::v4(), listen_fd), ctx_(ctx), api_(api) {}

void listener::start() {
  spawn(acceptor_.get_executor(), accept_loop(), "accept loop");
}

void listener::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> listener::accept_loop() {
  asio::steady_timer pause(acceptor_.get_executor());
  bool warned = false;
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // Out of descriptors (EMFILE/ENFILE) or memory: the connection stays
      // queued in the kernel. Pause instead of spinning on the error.
      if (!warned) log::warn("accept: " + ec.message() + "; pausing accepts");
      warned = true;
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    warned = false;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<http_session>(std::move(socket), ctx_, api_)->start();
  }
}

}  // namespace switchboard
