#include "common/redis/subscriber.hpp"

#include "common/redis/error.hpp"
#include "common/redis/key_slot.hpp"
#include "common/spawn.hpp"

namespace switchboard::redis {

subscriber::subscriber(asio::any_io_executor ex, client_options options, message_handler on_message,
                       std::shared_ptr<cluster_locator> cluster)
    : ex_(ex), options_(std::move(options)), on_message_(std::move(on_message)), cluster_(std::move(cluster)) {
  if (cluster_) {
    cluster_->on_change([this] { route(); });
    return;
  }
  auto& link = *links_.emplace("", std::make_unique<channel_subscriber>(ex_, options_, on_message_)).first->second;
  link.on_ready = [this] {
    if (on_ready) on_ready();
  };
  link.on_down = [this] {
    if (on_down) on_down();
  };
}

void subscriber::start() {
  started_ = true;
  for (auto& [address, link] : links_) link->start();
  if (sharded()) route();
}

void subscriber::stop() {
  started_ = false;
  for (auto& [address, link] : links_) link->stop();
}

channel_subscriber& subscriber::link_at(const std::string& host, std::uint16_t port) {
  std::string address = host + ":" + std::to_string(port);
  auto it = links_.find(address);
  if (it != links_.end()) return *it->second;
  client_options options = options_;
  options.where = fixed_locator(cluster_->node(host, port));
  options.name = options_.name + " " + address;
  auto& link = *links_.emplace(address, std::make_unique<channel_subscriber>(ex_, options, on_message_, true))
                    .first->second;
  link.on_ready = [this] { link_ready(); };
  link.on_down = [this, address] { link_down(address); };
  link.on_lost = [this](const std::string& channel) { lost(channel); };
  if (started_) link.start();
  return link;
}

asio::awaitable<error_code> subscriber::subscribe(std::string channel) {
  if (!sharded()) co_return co_await links_.begin()->second->subscribe(std::move(channel));
  placed_.try_emplace(channel);
  const slot_map* map = cluster_->map();
  const shard* owner = map ? map->owner(key_slot(channel)) : nullptr;
  if (!owner) {
    cluster_->refresh();
    co_return make_error_code(errc::unavailable);
  }
  co_return co_await place(std::move(channel), owner->host, owner->port, false);
}

asio::awaitable<error_code> subscriber::place(std::string channel, std::string host, std::uint16_t port,
                                              bool moving) {
  auto& link = link_at(host, port);
  std::string address = host + ":" + std::to_string(port);
  auto it = placed_.find(channel);
  if (it == placed_.end()) co_return make_error_code(errc::closed);
  if (it->second != address) {
    if (auto old = links_.find(it->second); !it->second.empty() && old != links_.end()) old->second->unsubscribe(channel);
    it->second = address;
  }
  if (moving) moving_.insert(channel);
  // A shard's connection made just now is still connecting: a wanted
  // channel would be subscribed once it is up, but the caller waits for
  // the confirmation, so wait for the connection first (a short while).
  asio::steady_timer pause(ex_);
  for (int waited = 0; !link.is_connected() && waited < connect_wait_steps; ++waited) {
    pause.expires_after(std::chrono::milliseconds(10));
    co_await pause.async_wait(use_nothrow);
  }
  error_code ec = co_await link.subscribe(channel);
  check_ready();
  co_return ec;
}

void subscriber::route() {
  const slot_map* map = cluster_->map();
  if (!map) return;
  bool moved = false;
  for (const auto& [channel, address] : placed_) {
    const shard* owner = map->owner(key_slot(channel));
    // A slot nobody serves now: it stays where it is until one does.
    if (!owner || owner->address() == address) continue;
    moved = true;
    spawn(ex_, place(channel, owner->host, owner->port, true), "redis subscription move");
  }
  if (moved && synced_) {
    synced_ = false;
    if (on_down) on_down();
  }
}

void subscriber::lost(const std::string& channel) {
  auto it = placed_.find(channel);
  if (it == placed_.end()) return;
  it->second.clear();
  moving_.insert(channel);
  if (synced_) {
    synced_ = false;
    if (on_down) on_down();
  }
  spawn(
      ex_,
      [](subscriber* self) -> asio::awaitable<void> {
        co_await self->cluster_->refreshed(cluster_locator::ask_timeout);
        self->route();
      }(this),
      "redis subscription reroute");
}

bool subscriber::holds_channels(const std::string& address) const {
  for (const auto& [channel, at] : placed_)
    if (at == address) return true;
  return false;
}

void subscriber::link_ready() { check_ready(); }

void subscriber::link_down(const std::string& address) {
  if (!holds_channels(address)) return;
  // The node may be gone: its slots get a new primary, which the map shows.
  cluster_->refresh();
  if (synced_) {
    synced_ = false;
    if (on_down) on_down();
  }
}

void subscriber::check_ready() {
  if (!sharded()) return;
  std::erase_if(moving_, [this](const std::string& channel) {
    auto it = placed_.find(channel);
    if (it == placed_.end()) return true;
    auto link = links_.find(it->second);
    return link != links_.end() && link->second->holds(channel);
  });
  if (synced_ || !is_ready()) return;
  synced_ = true;
  if (on_ready) on_ready();
}

void subscriber::unsubscribe(const std::string& channel) {
  if (!sharded()) {
    links_.begin()->second->unsubscribe(channel);
    return;
  }
  auto it = placed_.find(channel);
  if (it == placed_.end()) return;
  if (auto link = links_.find(it->second); link != links_.end()) link->second->unsubscribe(channel);
  moving_.erase(channel);
  placed_.erase(it);
}

void subscriber::reconnect() {
  for (auto& [address, link] : links_) link->reconnect();
}

bool subscriber::is_ready() const {
  if (!sharded()) return links_.begin()->second->is_ready();
  if (!cluster_->map() || !moving_.empty()) return false;
  for (const auto& [channel, address] : placed_) {
    auto link = links_.find(address);
    if (link == links_.end() || !link->second->is_ready()) return false;
  }
  return true;
}

bool subscriber::is_connected() const {
  if (!sharded()) return links_.begin()->second->is_connected();
  for (const auto& [channel, address] : placed_) {
    auto link = links_.find(address);
    if (link == links_.end() || !link->second->is_connected()) return false;
  }
  return true;
}

std::string subscriber::peer() const { return sharded() ? std::string() : links_.begin()->second->peer(); }

std::size_t subscriber::channels() const {
  return sharded() ? placed_.size() : links_.begin()->second->channels();
}

std::uint64_t subscriber::reconnects() const {
  std::uint64_t n = 0;
  for (const auto& [address, link] : links_) n += link->reconnects();
  return n;
}

std::size_t subscriber::shard_connections() const {
  std::size_t n = 0;
  for (const auto& [address, link] : links_)
    if (link->is_connected() && (!sharded() || holds_channels(address))) ++n;
  return n;
}

}  // namespace switchboard::redis
