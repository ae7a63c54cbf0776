#pragma once
// A load process's side of its pipes to the parent. Lines, one per message:
//
//   child -> parent   ready <connections open>
//                     tick <second> <counters> h=<histogram of that second>
//                     final <stats>
//   parent -> child   go <start time, CLOCK_MONOTONIC ns> <connections open in all processes>
//                     stop
//
// Ticks come every second on the second after the parent's start time, so
// the parent can add up the same second of every process.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "scripts/loadtest/clock.hpp"
#include "common/event.hpp"

namespace switchboard::load {

class control {
 public:
  control(asio::any_io_executor ex, int from_parent, int to_parent);

  // Reads the parent's commands; `on_stop` runs once, at stop or when the
  // parent's end of the pipe closes.
  void start(std::function<void()> on_stop);

  // Writes one line (the newline is added). Blocking: lines are small and
  // the parent reads all the time.
  void send(std::string_view line);

  // Reports ready and waits for go; false if stop came first.
  asio::awaitable<bool> ready(std::uint64_t open_connections);
  asio::awaitable<void> wait_stop() { co_await stop_.wait(); }

  // From go.
  nanos start_time() const { return start_; }
  std::uint64_t global_connections() const { return global_connections_; }

 private:
  asio::awaitable<void> read_loop();
  void stop();

  asio::posix::stream_descriptor in_;
  int out_;
  std::string line_;
  event go_;
  event stop_;
  nanos start_ = 0;
  std::uint64_t global_connections_ = 0;
  std::function<void()> on_stop_;
};

}  // namespace switchboard::load
