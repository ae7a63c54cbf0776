#include "common/keyed_lanes.hpp"

#include <algorithm>
#include <functional>
#include <string>

namespace switchboard {

keyed_lanes::guard::~guard() {
  // The token goes straight to the first waiter, if any.
  if (held_) held_->try_send(error_code{});
}

keyed_lanes::keyed_lanes(asio::any_io_executor ex, std::size_t lanes) {
  lanes_.reserve(lanes == 0 ? 1 : lanes);
  for (std::size_t i = 0; i < std::max<std::size_t>(lanes, 1); ++i) {
    lanes_.push_back(std::make_unique<lane>(ex, 1));
    lanes_.back()->try_send(error_code{});
  }
}

asio::awaitable<keyed_lanes::guard> keyed_lanes::enter(std::string_view key) {
  lane& chosen = *lanes_[std::hash<std::string_view>{}(key) % lanes_.size()];
  co_await chosen.async_receive(asio::use_awaitable);
  co_return guard(&chosen);
}

}  // namespace switchboard
