#include "server/cluster/registry_store.hpp"

namespace switchboard {
asio::awaitable<std::string> registry_store::run_id() {
  auto [ec, reply] = co_await commands_.command("INFO", "server");
  if (ec || !reply || reply->type != REDIS_REPLY_STRING) co_return std::string();
  std::string id = redis::info_field(redis::text_of(*reply), "run_id");
  if (id.empty()) co_return id;
  id += commands_.topology();
  if (!shard_run_ids) co_return id;
  std::string shards = co_await shard_run_ids();
  if (shards.empty()) co_return shards;
  co_return id + shards;
}

asio::awaitable<error_code> registry_store::heartbeat(std::string_view run_id, std::chrono::milliseconds ttl,
                                                      std::string_view report) {
  std::string entry = keys_.worker_entry(own_key_);
  std::string px = std::to_string(ttl.count());
  auto [ec, set] = co_await commands_.command("SET", entry, run_id, "PX", px);
  std::string stats = keys_.worker_stats(own_key_);
  co_await commands_.command("SET", stats, report, "PX", px);
  std::string workers = keys_.workers();
  co_await commands_.command("SADD", workers, own_key_);
  co_return ec;
}

asio::awaitable<std::optional<registry_store::roll>> registry_store::read_roll() {
  std::string workers = keys_.workers();
  auto [mec, members] = co_await commands_.command("SMEMBERS", workers);
  auto keys = mec ? std::nullopt : redis::strings_of(members.get());
  if (!keys) co_return std::nullopt;
  roll out;
  if (keys->empty()) co_return out;

  std::vector<std::string> entries;
  for (const auto& key : *keys) entries.push_back(keys_.worker_entry(key));
  std::vector<std::string_view> mget{"MGET"};
  mget.insert(mget.end(), entries.begin(), entries.end());
  auto [gec, values] = co_await commands_.request(mget);
  if (gec || !values || values->type != REDIS_REPLY_ARRAY || values->elements != keys->size()) co_return std::nullopt;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const redisReply& value = *values->element[i];
    if (value.type == REDIS_REPLY_STRING) out.live.emplace((*keys)[i], redis::text_of(value));
    else out.expired.push_back((*keys)[i]);
  }
  if (!out.expired.empty()) {
    std::vector<std::string_view> srem{"SREM", workers};
    srem.insert(srem.end(), out.expired.begin(), out.expired.end());
    co_await commands_.request(srem);
  }
  co_return out;
}

asio::awaitable<std::optional<std::vector<std::string>>> registry_store::read_reports() {
  std::string workers = keys_.workers();
  auto [mec, members] = co_await commands_.command("SMEMBERS", workers);
  auto keys = mec ? std::nullopt : redis::strings_of(members.get());
  if (!keys) co_return std::nullopt;
  std::vector<std::string> out;
  if (keys->empty()) co_return out;
  std::vector<std::string> stats;
  for (const auto& key : *keys) stats.push_back(keys_.worker_stats(key));
  std::vector<std::string_view> mget{"MGET"};
  mget.insert(mget.end(), stats.begin(), stats.end());
  auto [gec, values] = co_await commands_.request(mget);
  if (gec || !values || values->type != REDIS_REPLY_ARRAY) co_return std::nullopt;
  for (std::size_t i = 0; i < values->elements; ++i)
    if (values->element[i]->type == REDIS_REPLY_STRING) out.emplace_back(redis::text_of(*values->element[i]));
  co_return out;
}

asio::awaitable<error_code> registry_store::announce() {
  std::string channel = keys_.hello_channel();
  auto [ec, reply] = co_await commands_.command(publish_, channel, own_key_);
  co_return ec;
}

asio::awaitable<void> registry_store::remove_entry() {
  std::string entry = keys_.worker_entry(own_key_);
  std::string stats = keys_.worker_stats(own_key_);
  co_await commands_.command("DEL", entry, stats);
}

asio::awaitable<void> registry_store::withdraw() {
  co_await remove_entry();
  std::string workers = keys_.workers();
  co_await commands_.command("SREM", workers, own_key_);
}

}  // namespace switchboard
