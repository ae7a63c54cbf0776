#include "server/net/idle_watch.hpp"

namespace switchboard {

idle_watch::idle_watch(asio::io_context::executor_type ex, std::chrono::steady_clock::duration tick)
    : timer_(ex), tick_(tick) {}

void idle_watch::watch(watched& who) {
  watched_.push_back(who);
  if (!armed_) arm();
}

void idle_watch::arm() {
  armed_ = true;
  timer_.expires_after(tick_);
  timer_.async_wait([this](error_code ec) { on_tick(ec); });
}

void idle_watch::on_tick(error_code ec) {
  armed_ = false;
  if (ec) return;
  // A tick only pings or closes sockets; nobody leaves the list during it.
  for (auto& who : watched_) who.idle_tick();
  // No timer while nobody is watched.
  if (!watched_.empty()) arm();
}

}  // namespace switchboard
