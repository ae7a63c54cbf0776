#include "server/worker.hpp"

#include <csignal>

#include "common/log.hpp"
#include "server/listen_socket.hpp"
#include "server/listener.hpp"
#include "server/worker_context.hpp"

namespace switchboard {
namespace {

// Closes the listener, says goodbye to every client (1001) and stops the
// io_context once they are gone or the drain deadline has passed.
asio::awaitable<void> drain(asio::io_context& ioc, worker_context& ctx, listener& accepting) {
  ctx.draining = true;
  accepting.stop();
  log::info("draining " + std::to_string(ctx.hub.size()) + " clients");
  ctx.hub.close_all(websocket::close_code::going_away, "server shutting down");
  auto deadline = std::chrono::steady_clock::now() + ctx.cfg.drain_timeout;
  asio::steady_timer tick(ioc);
  while (ctx.hub.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(use_nothrow);
  }
  if (ctx.hub.size() > 0) log::warn(std::to_string(ctx.hub.size()) + " clients still open at the drain deadline");
  co_await ctx.bus.registry().withdraw();
  ctx.bus.stop();
  ioc.stop();
}

}  // namespace

int run_worker(const config& cfg, int index, const listen_socket& socket) {
  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context ioc{1};
  worker_context ctx(ioc.get_executor(), cfg, index);
  listener accepting(ioc, socket.fd, socket.ipv6, ctx);

  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](error_code ec, int) {
    if (ec) return;
    asio::co_spawn(ioc, drain(ioc, ctx, accepting), asio::detached);
  });

  ctx.bus.start();
  accepting.start();
  log::info("worker " + std::to_string(index) + " serving as " + ctx.ids.worker_key());
  ioc.run();
  log::info("worker exits");
  return 0;
}

}  // namespace switchboard
