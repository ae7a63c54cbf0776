#include "scripts/loadtest/control.hpp"

#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "scripts/loadtest/wait_group.hpp"

namespace switchboard::load {

control::control(asio::any_io_executor ex, int from_parent, int to_parent)
    : in_(ex, from_parent), out_(to_parent), go_(ex), stop_(ex) {}

void control::start(std::function<void()> on_stop) {
  on_stop_ = std::move(on_stop);
  spawn(in_.get_executor(), read_loop(), "control read loop");
}

void control::send(std::string_view line) {
  std::string text(line);
  text += '\n';
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(out_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone; its end of the pipe tells us too
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

asio::awaitable<bool> control::ready(std::uint64_t open_connections) {
  send("ready " + std::to_string(open_connections));
  co_await go_.wait();  // stop sets it too
  co_return !stop_.is_set();
}

void control::stop() {
  if (stop_.is_set()) return;
  stop_.set();
  go_.set();  // release a ready() still waiting
  if (on_stop_) on_stop_();
}

asio::awaitable<void> control::read_loop() {
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(in_, asio::dynamic_buffer(line_), '\n', use_nothrow);
    if (ec) break;
    std::istringstream command(line_.substr(0, n - 1));
    line_.erase(0, n);
    std::string verb;
    command >> verb;
    if (verb == "go") {
      command >> start_ >> global_connections_;
      go_.set();
    } else if (verb == "stop") {
      break;
    }
  }
  stop();
}

}  // namespace switchboard::load
