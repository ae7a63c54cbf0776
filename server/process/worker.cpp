#include "server/process/worker.hpp"

#include <optional>

#include <unistd.h>

#include <csignal>

#include "common/log.hpp"
#include "common/spawn.hpp"
#include "server/process/listen_socket.hpp"
#include "server/net/listener.hpp"
#include "server/worker_context.hpp"

namespace switchboard {
namespace {

// Turns /healthz to 503, serves on for `notice`, then closes the listeners,
// says goodbye to every client (1001) and stops the io_context once they are
// gone or the drain deadline has passed.
asio::awaitable<void> drain(asio::io_context& ioc, worker_context& ctx, listener& accepting,
                            std::optional<listener>& api, std::chrono::seconds notice) {
  ctx.draining = true;
  asio::steady_timer tick(ioc);
  if (notice.count() > 0) {
    log::info("draining: /healthz answers 503 for " + std::to_string(notice.count()) + " s before closing");
    tick.expires_after(notice);
    co_await tick.async_wait(use_nothrow);
  }
  ctx.stopping = true;
  accepting.stop();
  if (api) api->stop();
  log::info("draining " + std::to_string(ctx.hub.size()) + " clients");
  ctx.hub.close_all(websocket::close_code::going_away, "server shutting down");
  auto deadline = std::chrono::steady_clock::now() + ctx.cfg.drain_timeout;
  if (!co_await ctx.no_sessions.wait_until(deadline))
    log::warn(std::to_string(ctx.sessions) + " clients still open at the drain deadline");
  co_await ctx.bus.registry().withdraw();
  ctx.bus.stop();
  ioc.stop();
}

// Tells the master (SIGUSR1) once this worker serves, so that a rolling
// restart retires the old worker only then.
asio::awaitable<void> report_ready(worker_context& ctx) {
  co_await ctx.bus.ready_by(std::chrono::steady_clock::time_point::max());
  if (!ctx.draining) ::kill(::getppid(), SIGUSR1);
}

// Gauges that are states rather than events, refreshed a few times a second.
asio::awaitable<void> refresh_gauges(asio::io_context& ioc, worker_context& ctx) {
  asio::steady_timer tick(ioc);
  for (;;) {
    metrics::set(ctx.metrics.healthy, ctx.bus.ready() && !ctx.draining ? 1 : 0);
    metrics::set(ctx.metrics.subscriptions, ctx.bus.subscriber().channels());
    metrics::set(ctx.metrics.shard_subscribers, ctx.bus.subscriber().sharded() ? ctx.bus.subscriber().shard_connections() : 0);
    tick.expires_after(std::chrono::milliseconds(250));
    auto [ec] = co_await tick.async_wait(use_nothrow);
    if (ec) co_return;
  }
}

}  // namespace

[[noreturn]] void run_worker(const config& cfg, int index, const listen_socket& socket, metrics::region& counters) {
  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context ioc{1};
  worker_context ctx(ioc.get_executor(), cfg, index, counters);
  listener accepting(ioc, socket.fd, socket.ipv6, ctx);
  std::optional<listener> api;
  if (socket.api_fd >= 0) api.emplace(ioc, socket.api_fd, socket.api_ipv6, ctx, true);

  // SIGTERM/SIGINT: the node stops, with the drain notice. SIGUSR2: the
  // master retires this worker in a rolling restart; the node serves on, so
  // no notice is needed.
  asio::signal_set signals(ioc, SIGTERM, SIGINT, SIGUSR2);
  signals.async_wait([&](error_code ec, int sig) {
    if (ec) return;
    auto notice = sig == SIGUSR2 ? std::chrono::seconds(0) : cfg.drain_notice;
    spawn(ioc.get_executor(), drain(ioc, ctx, accepting, api, notice), "drain");
  });

  ctx.bus.start();
  accepting.start();
  if (api) api->start();
  spawn(ioc.get_executor(), report_ready(ctx), "ready report");
  spawn(ioc.get_executor(), refresh_gauges(ioc, ctx), "gauge refresh");
  log::info("worker " + std::to_string(index) + " serving as " + ctx.ids.worker_key());
  if (!ctx.sends.available())
    log::info("io_uring unavailable (" + ctx.sends.unavailable_reason() + "): a fan-out sends frame by frame");
  ioc.run();
  log::info("worker exits");
  // Coroutines that ioc.stop() cut short still hold leases and references
  // into ctx; destroying them after ctx would use it after it is gone, and
  // before ctx is impossible. The process is done: let the kernel clean up.
  std::fflush(stderr);
  ::_exit(0);
}

}  // namespace switchboard
