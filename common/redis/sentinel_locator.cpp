#include "common/redis/sentinel_locator.hpp"

#include <array>
#include <charconv>

#include "common/log.hpp"
#include "common/redis/connection.hpp"
#include "common/redis/error.hpp"
#include "common/spawn.hpp"

namespace switchboard::redis {

sentinel_locator::sentinel_locator(asio::any_io_executor ex, sentinel_group group)
    : ex_(ex),
      group_(std::move(group)),
      watch_(ex, group_, [this](const std::string& from, const std::string& to) { switched(from, to); }) {}

asio::awaitable<std::pair<error_code, endpoint>> sentinel_locator::locate() {
  const std::size_t n = group_.sentinels.size();
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t index = (preferred_ + i) % n;
    auto [ec, address] = co_await ask(group_.sentinels[index]);
    // This sentinel has not heard of the last failover yet.
    if (ec || demoted_.contains(address)) continue;
    preferred_ = index;
    primary_ = address;
    co_return std::pair{error_code{}, primary_at(address)};
  }
  if (!switched_to_.empty()) {
    primary_ = switched_to_;
    co_return std::pair{error_code{}, primary_at(switched_to_)};
  }
  co_return std::pair{make_error_code(errc::unavailable), endpoint{}};
}

asio::awaitable<std::pair<error_code, std::string>> sentinel_locator::ask(const endpoint& sentinel) {
  auto conn = std::make_shared<connection>(ex_, ask_timeout);
  error_code ec = co_await conn->connect(sentinel, ask_timeout);
  if (ec) co_return std::pair{ec, std::string()};
  spawn(ex_, conn->run(nullptr), "sentinel query");
  std::array<std::string_view, 3> query{"SENTINEL", "get-master-addr-by-name", group_.master_name};
  auto [rec, reply] = co_await conn->request(query);
  conn->close();
  if (rec) co_return std::pair{rec, std::string()};
  // [ip, port], or nil for a name the sentinel does not monitor.
  auto words = strings_of(reply.get());
  std::uint16_t port = 0;
  bool valid = words && words->size() == 2 && !(*words)[0].empty();
  if (valid) {
    const std::string& text = (*words)[1];
    auto [end, pec] = std::from_chars(text.data(), text.data() + text.size(), port);
    valid = pec == std::errc{} && end == text.data() + text.size() && port != 0;
  }
  if (!valid) co_return std::pair{make_error_code(errc::unavailable), std::string()};
  co_return std::pair{error_code{}, (*words)[0] + ":" + std::to_string(port)};
}

endpoint sentinel_locator::primary_at(const std::string& address) const {
  endpoint ep = group_.primary;
  std::size_t colon = address.rfind(':');
  ep.host = address.substr(0, colon);
  std::from_chars(address.data() + colon + 1, address.data() + address.size(), ep.port);
  return ep;
}

void sentinel_locator::switched(const std::string& from, const std::string& to) {
  // Each sentinel announces the same switch: the first one counts.
  if (to == switched_to_) return;
  log::info("redis sentinel: " + group_.master_name + " moved from " + from + " to " + to);
  switched_to_ = to;
  demoted_.erase(to);
  if (from != to) demoted_.insert(from);
  moved();
}

void sentinel_locator::primary_lost() {
  log::warn("redis sentinel: " + primary_ + " answers as a replica; looking for the new primary");
  moved();
}

void sentinel_locator::moved() {
  count_move();
  asio::post(ex_, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (self && self->on_moved) self->on_moved();
  });
}

}  // namespace switchboard::redis
