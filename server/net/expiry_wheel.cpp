#include "server/net/expiry_wheel.hpp"

#include <chrono>

#include "common/wall_clock.hpp"

namespace switchboard {

expiry_wheel::expiry_wheel(asio::any_io_executor ex) : timer_(ex) {}

void expiry_wheel::schedule(expiring& who, std::int64_t deadline) {
  who.unlink();
  slots_[deadline].push_back(who);
  if (!armed_for_ || deadline < *armed_for_) arm();
}

void expiry_wheel::arm() {
  if (slots_.empty()) {
    armed_for_.reset();
    return;
  }
  armed_for_ = slots_.begin()->first;
  // A wall-clock timer: exp is wall-clock time, so a clock step moves the
  // close with it. Rearming cancels the earlier wait, whose handler sees
  // operation_aborted and does nothing.
  timer_.expires_at(std::chrono::system_clock::time_point(std::chrono::seconds(*armed_for_)));
  timer_.async_wait([this](error_code ec) { on_timer(ec); });
}

void expiry_wheel::on_timer(error_code ec) {
  if (ec) return;
  auto now = epoch_seconds();
  while (!slots_.empty() && slots_.begin()->first <= now) {
    auto& due = slots_.begin()->second;
    // Each session leaves its slot before it hears of it, so whatever
    // expire() does (a close, a destructor) finds it unlinked.
    while (!due.empty()) {
      expiring& who = due.front();
      due.pop_front();
      who.expire();
    }
    slots_.erase(slots_.begin());
  }
  arm();
}

}  // namespace switchboard
