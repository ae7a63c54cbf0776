#include "scripts/loadtest/event.hpp"

namespace switchboard::load {

void event::set() {
  set_ = true;
  timer_.cancel();
}

asio::awaitable<void> event::wait() {
  while (!set_) co_await timer_.async_wait(use_nothrow);
}

}  // namespace switchboard::load
