#include "common/redis/cluster_locator.hpp"

#include <array>

#include "common/log.hpp"
#include "common/redis/connection.hpp"
#include "common/redis/error.hpp"
#include "common/spawn.hpp"

namespace switchboard::redis {

cluster_locator::cluster_locator(asio::any_io_executor ex, cluster_seeds seeds, std::uint16_t home_slot)
    : ex_(ex), seeds_(std::move(seeds)), home_slot_(home_slot), wake_(ex) {}

void cluster_locator::start() {
  // The loop runs on this object until it sees stop(), which may be after
  // its owner let go of it (an emitter closed and destroyed): it holds it.
  auto run = [](std::shared_ptr<cluster_locator> self) -> asio::awaitable<void> { co_await self->loop(); };
  spawn(ex_, run(shared_from_this()), "redis cluster map");
}

void cluster_locator::stop() {
  stopped_ = true;
  wake_.cancel();
}

asio::awaitable<std::pair<error_code, endpoint>> cluster_locator::locate() {
  if (!map_) co_await refreshed(ask_timeout);
  auto home = primary_of(home_slot_);
  if (!home) co_return std::pair{make_error_code(errc::unavailable), endpoint{}};
  co_return std::pair{error_code{}, std::move(*home)};
}

std::string cluster_locator::primary() const {
  const shard* home = map_ ? map_->owner(home_slot_) : nullptr;
  return home ? home->address() : std::string();
}

std::optional<endpoint> cluster_locator::primary_of(std::uint16_t slot) {
  const shard* owner = map_ ? map_->owner(slot) : nullptr;
  if (!owner) {
    refresh();
    return std::nullopt;
  }
  endpoint ep = seeds_.node(owner->host, owner->port);
  // A node that turns out to be a replica (READONLY) has it read anew.
  ep.primary_only = true;
  return ep;
}

void cluster_locator::refresh() {
  if (wanted_) return;
  wanted_ = true;
  wake_.cancel();
}

asio::awaitable<void> cluster_locator::refreshed(std::chrono::milliseconds timeout) {
  // A read in progress may have begun before whatever made us ask.
  std::uint64_t target = started_ + 1;
  refresh();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer pause(ex_);
  while (finished_ < target && !stopped_ && std::chrono::steady_clock::now() < deadline) {
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(use_nothrow);
  }
}

asio::awaitable<void> cluster_locator::loop() {
  auto last_read = std::chrono::steady_clock::time_point{};
  while (!stopped_) {
    // Not more often than min_interval, however many ask.
    auto earliest = last_read + min_interval;
    if (std::chrono::steady_clock::now() < earliest) {
      wake_.expires_at(earliest);
      co_await wake_.async_wait(use_nothrow);
      if (stopped_) break;
    }
    wanted_ = false;
    ++started_;
    last_read = std::chrono::steady_clock::now();
    co_await read_map();
    ++finished_;
    if (stopped_ || wanted_) continue;
    wake_.expires_after(poll);
    co_await wake_.async_wait(use_nothrow);
  }
}

asio::awaitable<void> cluster_locator::read_map() {
  // The primaries it knows answer for the cluster as well as the seeds, and
  // may be the only nodes left when the seeds are gone.
  std::vector<endpoint> candidates;
  if (map_)
    for (const auto& s : map_->shards()) candidates.push_back(seeds_.node(s.host, s.port));
  candidates.insert(candidates.end(), seeds_.nodes.begin(), seeds_.nodes.end());
  for (const auto& node : candidates) {
    auto read = co_await ask(node);
    if (!read || stopped_) continue;
    bool first = !map_;
    if (!first && read->fingerprint() == map_->fingerprint()) co_return;
    map_ = std::move(read);
    ++reads_;
    if (!first) {
      log::info("redis cluster: the slot map changed: " + map_->fingerprint());
      count_move();
    }
    asio::post(ex_, [weak = weak_from_this(), first] {
      auto self = weak.lock();
      if (!self) return;
      if (!first && self->on_moved) self->on_moved();
      for (const auto& listener : self->listeners_) listener();
    });
    co_return;
  }
}

asio::awaitable<std::optional<slot_map>> cluster_locator::ask(const endpoint& node) {
  auto conn = std::make_shared<connection>(ex_, ask_timeout);
  error_code ec = co_await conn->connect(node, ask_timeout);
  if (ec) co_return std::nullopt;
  spawn(ex_, conn->run(nullptr), "redis cluster map query");
  std::array<std::string_view, 2> query{"CLUSTER", "SLOTS"};
  auto [rec, reply] = co_await conn->request(query);
  conn->close();
  if (rec) co_return std::nullopt;
  std::string why;
  auto map = slot_map::from_cluster_slots(reply.get(), node.host, &why);
  if (!map) log::warn("redis cluster: " + node.host + ":" + std::to_string(node.port) + ": " + why);
  co_return map;
}

}  // namespace switchboard::redis
