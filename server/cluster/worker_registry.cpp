#include "server/cluster/worker_registry.hpp"

#include <vector>

#include "common/log.hpp"

namespace switchboard {
namespace {

std::string run_id_of(std::string_view info) {
  constexpr std::string_view field = "run_id:";
  auto at = info.find(field);
  if (at == std::string_view::npos) return {};
  auto begin = at + field.size();
  auto end = info.find_first_of("\r\n", begin);
  return std::string(info.substr(begin, end == std::string_view::npos ? info.npos : end - begin));
}

}  // namespace

worker_registry::worker_registry(asio::any_io_executor ex, redis::client& commands, const redis_keys& keys,
                                 std::string worker_key, std::chrono::milliseconds liveness_timeout)
    : commands_(commands),
      keys_(keys),
      own_key_(std::move(worker_key)),
      entry_ttl_(liveness_timeout),
      heartbeat_(liveness_timeout / 3),
      timer_(ex) {}

void worker_registry::start() {
  asio::co_spawn(timer_.get_executor(), loop(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

void worker_registry::stop() {
  stopped_ = true;
  timer_.cancel();
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
  asio::co_spawn(timer_.get_executor(), [this]() -> asio::awaitable<void> {
    std::string entry = keys_.worker_entry(own_key_);
    co_await commands_.command("DEL", entry);
  }, asio::detached);
}

asio::awaitable<void> worker_registry::withdraw() {
  stop();
  std::string entry = keys_.worker_entry(own_key_);
  std::string workers = keys_.workers();
  co_await commands_.command("DEL", entry);
  co_await commands_.command("SREM", workers, own_key_);
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
    auto [ec, reply] = co_await commands_.command("INFO", "server");
    if (ec || !reply || reply->type != REDIS_REPLY_STRING) co_return;
    run_id_ = run_id_of(redis::text_of(*reply));
  }
  std::string ttl = std::to_string(entry_ttl_.count());
  if (subscribed_) {
    std::string entry = keys_.worker_entry(own_key_);
    auto [sec, set] = co_await commands_.command("SET", entry, run_id_, "PX", ttl);
    co_await commands_.command("SADD", keys_.workers(), own_key_);
    if (!sec && subscribed_ && !registered_) {
      registered_ = true;
      if (on_registered) on_registered();
    }
  }

  auto [mec, members] = co_await commands_.command("SMEMBERS", keys_.workers());
  if (mec || !members || members->type != REDIS_REPLY_ARRAY) co_return;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < members->elements; ++i) keys.emplace_back(redis::text_of(*members->element[i]));

  std::unordered_map<std::string, std::string> live;
  if (!keys.empty()) {
    std::vector<std::string> entries;
    for (const auto& key : keys) entries.push_back(keys_.worker_entry(key));
    std::vector<std::string_view> args{"MGET"};
    args.insert(args.end(), entries.begin(), entries.end());
    auto [gec, values] = co_await commands_.request(args);
    if (gec || !values || values->type != REDIS_REPLY_ARRAY || values->elements != keys.size()) co_return;
    std::string set_key = keys_.workers();
    std::vector<std::string_view> expired{"SREM", set_key};
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& value = *values->element[i];
      if (value.type == REDIS_REPLY_STRING) live.emplace(keys[i], redis::text_of(value));
      else expired.push_back(keys[i]);
    }
    if (expired.size() > 2) {
      for (std::size_t i = 2; i < expired.size(); ++i)
        if (on_dead) on_dead(std::string(expired[i]));
      co_await commands_.request(expired);
    }
  }
  // Workers heard of by hello but not yet in the set we read stay known.
  for (auto& [key, run_id] : live_)
    if (run_id.empty()) live.emplace(key, run_id);
  live_ = std::move(live);

  if (registered_ && !announced_) {
    std::string channel = keys_.hello_channel();
    auto [hec, heard] = co_await commands_.command("PUBLISH", channel, own_key_);
    if (!hec) announced_ = true;
  }

  if (!gate_open_) {
    bool waiting = false;
    for (const auto& key : awaited_) {
      auto it = live_.find(key);
      // Gone from the registry after a restart without persistence: wait for
      // it to come back, or for the deadline.
      if (it == live_.end() || it->second != run_id_) waiting = true;
    }
    if (!waiting || std::chrono::steady_clock::now() >= gate_deadline_) {
      if (waiting) log::warn("registry: some workers did not resubscribe in time; taking them for dead");
      gate_open_ = true;
      awaited_.clear();
    }
  }
}

}  // namespace switchboard
