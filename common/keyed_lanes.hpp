#pragma once
// Runs work one at a time per key, in the order it arrived, across awaits:
// enter(key) waits until every earlier holder of the key's lane has left.
// Keys share a fixed number of lanes (by hash), so distinct keys mostly run
// side by side. Used where commands on pooled connections must reach Redis
// in order although each may travel on another connection.
//
// Single-threaded: use it on one executor only.

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/experimental/channel.hpp>

#include "common/net.hpp"

namespace switchboard {

class keyed_lanes {
  // Holds the lane's one token while the lane is free; waiters queue FIFO.
  using lane = asio::experimental::channel<void(error_code)>;

 public:
  // Leaves the lane on destruction, on every path out of the work.
  class guard {
   public:
    guard() = default;
    explicit guard(lane* held) : held_(held) {}
    guard(guard&& other) noexcept : held_(std::exchange(other.held_, nullptr)) {}
    guard& operator=(guard&&) = delete;
    guard(const guard&) = delete;
    ~guard();

   private:
    lane* held_ = nullptr;
  };

  keyed_lanes(asio::any_io_executor ex, std::size_t lanes);

  // Waits for the key's lane. Cancelled (the caller's frame destroyed) it
  // takes nothing, and the lane stays free for the next one.
  asio::awaitable<guard> enter(std::string_view key);

 private:
  std::vector<std::unique_ptr<lane>> lanes_;
};

}  // namespace switchboard
