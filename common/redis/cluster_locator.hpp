#pragma once
// Where a Redis Cluster's slots are: the slot map, asked of the nodes with
// CLUSTER SLOTS (the seeds of the URL first, then every primary it knows),
// and read again when a command meets MOVED, a connection to a node fails,
// a subscriber is told that a slot moved, and every `poll` besides, since a
// failover elsewhere changes the map without any connection noticing.
//
// As a locator it answers the primary of one slot, the home slot (the
// registry's): the worker's control connection talks to that node. Its
// move count grows with every change of the map, not only the home slot's:
// every change of who serves what can strand a subscription somewhere, so
// the worker treats it as Sentinel's failover (the gate shuts until every
// worker has resubscribed on the new map).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/redis/cluster_seeds.hpp"
#include "common/redis/locator.hpp"
#include "common/redis/slot_map.hpp"

namespace switchboard::redis {

class cluster_locator final : public locator, public std::enable_shared_from_this<cluster_locator> {
 public:
  // Without a change seen, the map is read this often: a failover elsewhere
  // is noticed within it.
  static constexpr std::chrono::milliseconds poll{500};
  // Reads asked for in a burst (many MOVED at once) are one read.
  static constexpr std::chrono::milliseconds min_interval{50};
  static constexpr std::chrono::milliseconds ask_timeout{500};

  cluster_locator(asio::any_io_executor ex, cluster_seeds seeds, std::uint16_t home_slot);

  asio::awaitable<std::pair<error_code, endpoint>> locate() override;
  std::string describe() const override { return seeds_.describe(); }
  void start() override;
  void stop() override;
  void primary_lost() override { refresh(); }
  std::string primary() const override;
  std::string topology() const override { return map_ ? map_->fingerprint() : std::string(); }

  // The map as last read; nullptr before the first read.
  const slot_map* map() const { return map_ ? &*map_ : nullptr; }
  // The primary that serves `slot`, with the URL's user and password;
  // nullopt (and a read is asked for) when none does.
  std::optional<endpoint> primary_of(std::uint16_t slot);
  endpoint node(const std::string& host, std::uint16_t port) const { return seeds_.node(host, port); }
  // Read the map again soon.
  void refresh();
  // Waits until a read that began after this call has finished, or `timeout`.
  asio::awaitable<void> refreshed(std::chrono::milliseconds timeout);

  // Called (posted) after the map changed, besides on_moved.
  void on_change(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }
  // Maps taken: the first, then one per change.
  std::uint64_t reads() const { return reads_; }

 private:
  asio::awaitable<void> loop();
  // The map one node gives; nullopt when it does not answer a whole one.
  asio::awaitable<std::optional<slot_map>> ask(const endpoint& node);
  asio::awaitable<void> read_map();

  asio::any_io_executor ex_;
  cluster_seeds seeds_;
  std::uint16_t home_slot_;
  std::optional<slot_map> map_;
  asio::steady_timer wake_;
  bool stopped_ = false;
  bool wanted_ = false;  // refresh() asked since the last read began
  std::uint64_t started_ = 0;   // reads begun
  std::uint64_t finished_ = 0;  // reads done
  std::uint64_t reads_ = 0;     // maps taken (the first, then each change)
  std::vector<std::function<void()>> listeners_;
};

}  // namespace switchboard::redis
