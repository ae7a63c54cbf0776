#include "server/cluster/worker_registry.hpp"

#include "common/log.hpp"
#include "common/spawn.hpp"

namespace switchboard {

worker_registry::worker_registry(asio::any_io_executor ex, redis::client& commands, const redis_keys& keys,
                                 std::string worker_key, std::chrono::milliseconds liveness_timeout,
                                 std::string_view publish)
    : commands_(commands),
      store_(commands, keys, worker_key, publish),
      own_key_(std::move(worker_key)),
      entry_ttl_(liveness_timeout),
      heartbeat_(liveness_timeout / 3),
      timer_(ex) {}

void worker_registry::start() { spawn(timer_.get_executor(), loop(), "worker registry"); }

void worker_registry::stop() {
  stopped_ = true;
  timer_.cancel();
}

void worker_registry::changed() {
  if (on_change) on_change();
}

void worker_registry::commands_up() {
  // Keys still awaited from an earlier reconnect stay awaited: until the gate
  // opens, live_ holds only the workers that came back so far, and Redis may
  // have gone away again before the others did.
  if (gate_open_) awaited_.clear();
  gate_open_ = false;
  run_id_.clear();
  for (const auto& [key, run_id] : live_) awaited_.insert(key);
  gate_deadline_ = std::chrono::steady_clock::now() + entry_ttl_;
  changed();
  wake();
}

void worker_registry::subscribed() {
  subscribed_ = true;
  registered_ = false;
  wake();
}

void worker_registry::unsubscribed() {
  subscribed_ = false;
  registered_ = false;
  // Withdraw at once, so that no other worker's gate takes us for subscribed.
  spawn(timer_.get_executor(), store_.remove_entry(), "registry withdrawal");
}

asio::awaitable<void> worker_registry::withdraw() {
  stop();
  co_await store_.withdraw();
}

void worker_registry::heard(std::string_view worker_key) {
  if (worker_key != own_key_) live_.try_emplace(std::string(worker_key), std::string());
}

void worker_registry::wake() {
  wake_pending_ = true;
  timer_.cancel();
}

asio::awaitable<void> worker_registry::loop() {
  while (!stopped_) {
    wake_pending_ = false;
    if (commands_.is_up()) co_await refresh();
    if (stopped_) break;
    if (wake_pending_) continue;
    timer_.expires_after(gate_open_ ? heartbeat_ : gated_poll);
    co_await timer_.async_wait(use_nothrow);
  }
}

asio::awaitable<void> worker_registry::refresh() {
  if (run_id_.empty()) {
    run_id_ = co_await store_.run_id();
    if (run_id_.empty()) co_return;
  }
  if (subscribed_) {
    std::string stats = report ? report() : std::string("{}");
    error_code ec = co_await store_.heartbeat(run_id_, entry_ttl_, stats);
    if (!ec && subscribed_ && !registered_) {
      registered_ = true;
      if (on_registered) on_registered();
    }
  }

  auto roll = co_await store_.read_roll();
  if (!roll) co_return;
  if (on_dead)
    for (const auto& key : roll->expired) on_dead(key);
  // Workers heard of by hello but not yet in the set we read stay known.
  for (auto& [key, run_id] : live_)
    if (run_id.empty()) roll->live.emplace(key, run_id);
  live_ = std::move(roll->live);

  if (registered_ && !announced_) {
    error_code ec = co_await store_.announce();
    if (!ec) {
      announced_ = true;
      changed();
    }
  }
  if (!gate_open_) check_gate();
}

void worker_registry::check_gate() {
  bool waiting = false;
  for (const auto& key : awaited_) {
    auto it = live_.find(key);
    // Gone from the registry after a restart without persistence: wait for
    // it to come back, or for the deadline.
    if (it == live_.end() || it->second != run_id_) waiting = true;
  }
  if (waiting && std::chrono::steady_clock::now() < gate_deadline_) return;
  if (waiting) log::warn("registry: some workers did not resubscribe in time; taking them for dead");
  gate_open_ = true;
  awaited_.clear();
  changed();
}

}  // namespace switchboard
