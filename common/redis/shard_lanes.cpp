#include "common/redis/shard_lanes.hpp"

#include <array>

#include "common/redis/error.hpp"
#include "common/redis/key_slot.hpp"
#include "common/redis/reply.hpp"
#include "common/redis/router.hpp"

namespace switchboard::redis {
namespace {

// A stopped client's loop is gone once its connection has closed, a turn
// or two of the loop later; a second is far beyond that.
constexpr std::chrono::seconds retire_for{1};

bool redirected(const connection::result& result, std::string_view kind) {
  const auto& reply = std::get<1>(result);
  return reply && reply->type == REDIS_REPLY_ERROR && text_of(*reply).starts_with(kind);
}

}  // namespace

shard_lanes::shard_lanes(asio::any_io_executor ex, std::shared_ptr<cluster_locator> cluster, client_options base,
                         const std::vector<std::string_view>& scripts, pool_counters& counters)
    : ex_(std::move(ex)), cluster_(std::move(cluster)), base_(std::move(base)), scripts_(scripts),
      counters_(counters) {
  cluster_->on_change([this] { follow_map(); });
}

void shard_lanes::start() {
  started_ = true;
  follow_map();
}

void shard_lanes::stop() {
  started_ = false;
  for (auto& [address, l] : lanes_) l.connection->stop();
}

void shard_lanes::reset_connections() {
  for (auto& [address, l] : lanes_) l.connection->reset_connection();
}

void shard_lanes::follow_map() {
  const slot_map* map = cluster_->map();
  if (!started_ || !map) return;
  auto now = std::chrono::steady_clock::now();
  std::erase_if(retired_, [now](const retired_lane& r) { return now - r.at > retire_for; });
  std::map<std::string, lane> kept;
  for (const shard& s : map->shards()) {
    std::string address = s.address();
    if (auto it = lanes_.find(address); it != lanes_.end()) {
      kept.insert(lanes_.extract(it));
      continue;
    }
    client_options options = base_;
    options.where = fixed_locator(cluster_->node(s.host, s.port));
    options.name = base_.name + " " + address;
    lane& l = kept[address];
    l.connection = std::make_unique<client>(ex_, std::move(options));
    client* c = l.connection.get();
    c->on_up = [this, c, address] {
      // Written before anything else on the connection.
      for (auto text : scripts_) {
        std::array<std::string_view, 3> load{"SCRIPT", "LOAD", text};
        c->send_ignoring_reply(load);
      }
      auto it = lanes_.find(address);
      bool again = it != lanes_.end() && it->second.was_up;
      if (it != lanes_.end()) it->second.was_up = true;
      if (again && on_reconnect) on_reconnect();
      if (on_change) on_change();
    };
    c->on_down = [this](error_code) {
      cluster_->refresh();
      if (on_change) on_change();
    };
    c->start();
  }
  for (auto& [address, l] : lanes_) {
    l.connection->stop();
    retired_.push_back({std::move(l.connection), now});
  }
  lanes_ = std::move(kept);
  if (on_change) on_change();
}

bool shard_lanes::all_up() const {
  const slot_map* map = cluster_->map();
  if (!map || !map->complete()) return false;
  for (const shard& s : map->shards()) {
    auto it = lanes_.find(s.address());
    if (it == lanes_.end() || !it->second.connection->is_up()) return false;
  }
  return true;
}

client* shard_lanes::lane_for(std::optional<std::string_view> key) {
  const slot_map* map = cluster_->map();
  const shard* owner = nullptr;
  if (map && key) owner = map->owner(key_slot(*key));
  else if (map && !map->shards().empty()) owner = &map->shards().front();
  auto it = owner ? lanes_.find(owner->address()) : lanes_.end();
  if (it == lanes_.end()) {
    cluster_->refresh();
    return nullptr;
  }
  return it->second.connection.get();
}

connection::result shard_lanes::checked(connection::result result) {
  bool moved = redirected(result, "MOVED ");
  bool ask = redirected(result, "ASK ");
  // A transaction whose command met MOVED or ASK is aborted at EXEC.
  if (moved || ask || redirected(result, "EXECABORT")) {
    if (moved) counters_.moved_redirects.fetch_add(1, std::memory_order_relaxed);
    if (ask) counters_.ask_redirects.fetch_add(1, std::memory_order_relaxed);
    cluster_->refresh();
    return {make_error_code(errc::unavailable), nullptr};
  }
  if (std::get<0>(result) == errc::unavailable || std::get<0>(result) == errc::timeout) cluster_->refresh();
  return result;
}

asio::awaitable<connection::result> shard_lanes::request(std::span<const std::string_view> args) {
  client* lane = lane_for(router::routing_key(args));
  if (!lane) co_return connection::result{make_error_code(errc::unavailable), nullptr};
  co_return checked(co_await lane->request(args));
}

asio::awaitable<connection::result> shard_lanes::transaction(std::span<const std::vector<std::string>> commands) {
  std::optional<std::string_view> key;
  std::vector<std::string_view> first;
  if (!commands.empty()) {
    first.assign(commands.front().begin(), commands.front().end());
    key = router::routing_key(first);
  }
  client* lane = lane_for(key);
  if (!lane) co_return connection::result{make_error_code(errc::unavailable), nullptr};
  co_return checked(co_await lane->transaction(commands));
}

asio::awaitable<std::string> shard_lanes::run_ids() {
  std::string ids;
  const slot_map* map = cluster_->map();
  if (!map) co_return ids;
  std::vector<std::string> addresses;
  for (const shard& s : map->shards()) addresses.push_back(s.address());
  for (const auto& address : addresses) {
    auto it = lanes_.find(address);
    if (it == lanes_.end()) co_return std::string();
    std::array<std::string_view, 2> info{"INFO", "server"};
    auto [ec, reply] = co_await it->second.connection->request(info);
    // A lane not up yet, or a primary that does not answer: no run_id now.
    if (ec || !reply || reply->type != REDIS_REPLY_STRING) co_return std::string();
    std::string id = info_field(text_of(*reply), "run_id");
    if (id.empty()) co_return id;
    ids += ' ';
    ids += id;
  }
  co_return ids;
}

}  // namespace switchboard::redis
