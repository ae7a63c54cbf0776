#include "common/redis/router.hpp"

#include <charconv>

#include "common/redis/error.hpp"
#include "common/redis/key_slot.hpp"

namespace switchboard::redis {
namespace {

// The router is the only writer: a load and a store need no read-modify-write.
void bump(std::atomic<std::uint64_t>& total) {
  total.store(total.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

bool failed_transport(const connection::result& result) {
  const auto& ec = std::get<0>(result);
  return ec && ec != errc::server_error;
}

// EXEC's answer when a command queued in MULTI was refused, MOVED included.
bool aborted(const connection::result& result) {
  const auto& reply = std::get<1>(result);
  return reply && reply->type == REDIS_REPLY_ERROR && text_of(*reply).starts_with("EXECABORT");
}

}  // namespace

router::router(asio::any_io_executor ex, pool_options options, pool_counters& counters,
               std::shared_ptr<cluster_locator> cluster)
    : ex_(ex), options_(std::move(options)), counters_(counters), cluster_(std::move(cluster)) {
  if (!cluster_) pools_.emplace("", std::make_unique<pool>(ex_, options_, counters_));
}

std::optional<std::string_view> router::routing_key(std::span<const std::string_view> args) {
  if (args.size() < 2) return std::nullopt;
  std::string_view name = args[0];
  auto is = [name](std::string_view other) {
    if (name.size() != other.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
      if ((name[i] | 0x20) != (other[i] | 0x20)) return false;
    return true;
  };
  if (is("EVAL") || is("EVALSHA")) {
    // EVAL script numkeys key...
    if (args.size() < 4 || args[2] == "0") return std::nullopt;
    return args[3];
  }
  if (is("INFO") || is("PING") || is("CLUSTER")) return std::nullopt;
  return args[1];
}

std::optional<router::redirect> router::redirect_of(const connection::result& result) {
  const auto& reply = std::get<1>(result);
  if (!reply || reply->type != REDIS_REPLY_ERROR) return std::nullopt;
  std::string_view text = text_of(*reply);
  redirect out;
  if (text.starts_with("ASK ")) out.ask = true;
  else if (!text.starts_with("MOVED ")) return std::nullopt;
  // "MOVED <slot> <host>:<port>"
  auto space = text.rfind(' ');
  auto colon = text.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) return std::nullopt;
  out.host = std::string(text.substr(space + 1, colon - space - 1));
  std::string_view digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || out.port == 0 || out.host.empty())
    return std::nullopt;
  return out;
}

pool& router::pool_at(const std::string& host, std::uint16_t port) {
  std::string address = host + ":" + std::to_string(port);
  auto it = pools_.find(address);
  if (it == pools_.end()) {
    pool_options options = options_;
    options.where = fixed_locator(cluster_->node(host, port));
    it = pools_.emplace(address, std::make_unique<pool>(ex_, std::move(options), counters_)).first;
  }
  return *it->second;
}

pool* router::pool_for(std::optional<std::string_view> key) {
  if (!cluster_) return pools_.begin()->second.get();
  const slot_map* map = cluster_->map();
  const shard* owner = nullptr;
  if (map && key) owner = map->owner(key_slot(*key));
  else if (map && !map->shards().empty()) owner = &map->shards().front();
  if (!owner) {
    cluster_->refresh();
    return nullptr;
  }
  return &pool_at(owner->host, owner->port);
}

template <typename Send>
asio::awaitable<connection::result> router::routed(std::optional<std::string_view> key, Send send) {
  connection::result last{make_error_code(errc::unavailable), nullptr};
  std::optional<redirect> to;
  for (int attempt = 0; attempt <= max_redirects; ++attempt) {
    pool* target = to ? &pool_at(to->host, to->port) : pool_for(key);
    if (!target) {
      co_await cluster_->refreshed(cluster_locator::ask_timeout);
      continue;
    }
    bool asking = to && to->ask;
    auto [aec, conn] = co_await target->acquire();
    if (aec) {
      if (cluster_) cluster_->refresh();
      co_return connection::result{aec, nullptr};
    }
    if (asking) {
      std::array<std::string_view, 1> asking_command{"ASKING"};
      auto [kec, ignored] = co_await conn->request(asking_command);
      if (kec) co_return connection::result{kec, nullptr};
    }
    last = co_await send(*conn);
    if (!cluster_) co_return last;
    if (failed_transport(last)) {
      // The node may be gone: its slots have a new primary soon.
      cluster_->refresh();
      co_return last;
    }
    if (aborted(last)) {
      // A queued command met MOVED (or ASK): try again on the map read now.
      to.reset();
      co_await cluster_->refreshed(cluster_locator::ask_timeout);
      continue;
    }
    to = redirect_of(last);
    if (!to) co_return last;
    bump(to->ask ? counters_.ask_redirects : counters_.moved_redirects);
    if (!to->ask) cluster_->refresh();
  }
  co_return last;
}

asio::awaitable<connection::result> router::request(std::span<const std::string_view> args) {
  co_return co_await routed(routing_key(args), [args](connection& conn) { return conn.request(args); });
}

asio::awaitable<connection::result> router::transaction(std::span<const std::vector<std::string>> commands) {
  std::optional<std::string_view> key;
  if (!commands.empty()) {
    std::vector<std::string_view> first(commands.front().begin(), commands.front().end());
    if (auto found = routing_key(first)) key = *found;
  }
  co_return co_await routed(key, [commands](connection& conn) { return conn.transaction(commands); });
}

void router::drop_connections() {
  for (auto& [address, p] : pools_) p->drop_connections();
}

void router::close() {
  for (auto& [address, p] : pools_) p->close();
}

}  // namespace switchboard::redis
