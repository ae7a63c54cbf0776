#include "server/cluster/bus.hpp"

#include <algorithm>
#include <array>

#include "common/log.hpp"
#include "common/protocol/envelope.hpp"
#include "common/redis/error.hpp"
#include "common/redis/key_slot.hpp"
#include "common/redis/sentinel_locator.hpp"
#include "common/spawn.hpp"

namespace switchboard {
namespace {

std::shared_ptr<redis::locator> locator_for(asio::any_io_executor ex, const config& cfg, const redis_keys& keys) {
  // The control connection goes to the registry's slot: its keys are all there.
  if (cfg.redis_cluster)
    return std::make_shared<redis::cluster_locator>(ex, *cfg.redis_cluster, redis::key_slot(keys.workers()));
  if (cfg.redis_sentinel) return std::make_shared<redis::sentinel_locator>(ex, *cfg.redis_sentinel);
  return redis::fixed_locator(cfg.redis);
}

redis::client_options options_for(std::shared_ptr<redis::locator> where, std::string name) {
  redis::client_options options;
  options.where = std::move(where);
  options.name = std::move(name);
  return options;
}

// The commands' indexes by slot, each slot's in order, the slots in order
// of their first command; one group of them all unless `by_slot`.
std::vector<std::vector<std::size_t>> slot_groups(std::span<const std::vector<std::string>> commands, bool by_slot) {
  std::vector<std::pair<std::uint16_t, std::vector<std::size_t>>> groups;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    std::uint16_t slot = 0;
    if (by_slot) {
      std::vector<std::string_view> args(commands[i].begin(), commands[i].end());
      if (auto key = redis::router::routing_key(args)) slot = redis::key_slot(*key);
    }
    auto it = std::find_if(groups.begin(), groups.end(), [slot](const auto& g) { return g.first == slot; });
    if (it == groups.end()) it = groups.insert(groups.end(), {slot, {}});
    it->second.push_back(i);
  }
  std::vector<std::vector<std::size_t>> out;
  for (auto& [slot, indexes] : groups) out.push_back(std::move(indexes));
  return out;
}

redis::pool_options pool_options_for(const config& cfg, std::shared_ptr<redis::locator> where) {
  redis::pool_options options;
  options.where = std::move(where);
  options.size = cfg.redis_pool_size;
  options.wait = cfg.redis_pool_wait;
  options.max_waiters = cfg.redis_pool_max_waiters;
  options.acquire_timeout = cfg.redis_pool_acquire_timeout;
  return options;
}

}  // namespace

bus::bus(asio::any_io_executor ex, const config& cfg, const redis_keys& keys, std::string worker_key,
         delivery_sink& local, metrics::worker_metrics& counters)
    : keys_(keys),
      where_(locator_for(ex, cfg, keys)),
      cluster_(std::dynamic_pointer_cast<redis::cluster_locator>(where_)),
      subscriber_move_(ex),
      own_channel_(keys.direct_channel(worker_key)),
      hello_channel_(keys.hello_channel()),
      local_(local),
      control_(ex, options_for(where_, "redis control")),
      publishes_(ex, options_for(where_, "redis publisher")),
      lanes_(cluster_ ? std::make_unique<redis::shard_lanes>(ex, cluster_, options_for(where_, "redis publisher"),
                                                             preloaded_scripts_, counters.pool)
                      : nullptr),
      pool_(ex, pool_options_for(cfg, where_), counters.pool, cluster_),
      subscriber_(ex, options_for(where_, "redis subscriber"),
                  [this](std::string_view channel, std::string_view payload) { on_message(channel, payload); },
                  cluster_),
      registry_(ex, control_, keys, worker_key, cfg.liveness_timeout, publish_verb()),
      probe_(ex, pool_, control_, subscriber_, keys.probe_channel(worker_key), publish_verb(), counters),
      metrics_(counters),
      ready_(ex),
      welcoming_(ex) {
  where_->on_moved = [this] { follow_primary(); };
  control_.on_up = [this] {
    metrics_.redis_primary.store(control_.peer());
    registry_.commands_up();
    subscriber_on_primary();
    update();
  };
  control_.on_down = [this](error_code) { update(); };
  publishes_.on_up = [this] {
    // Written before anything else on the connection.
    for (auto text : preloaded_scripts_) {
      std::array<std::string_view, 3> load{"SCRIPT", "LOAD", text};
      publishes_.send_ignoring_reply(load);
    }
    update();
  };
  publishes_.on_down = [this](error_code) { update(); };
  subscriber_.on_ready = [this] {
    if (!subscriber_on_primary()) return;
    if (ever_ready_) {
      metrics::add(metrics_.redis_reconnects);
      probe_.verify_now();
    }
    ever_ready_ = true;
    registry_.subscribed();
    update();
  };
  subscriber_.on_down = [this] {
    registry_.unsubscribed();
    update();
  };
  if (lanes_) {
    lanes_->on_change = [this] { update(); };
    // A primary that restarted without a failover has lost its shard's
    // subscriptions, as a restarted single Redis: nothing is acknowledged
    // until every worker is subscribed on it again. Its run_id is part of
    // the run_id the registry's entries name.
    lanes_->on_reconnect = [this] { registry_.commands_up(); };
    registry_.shard_run_ids([this] { return lanes_->run_ids(); });
  }
  registry_.on_change = [this] { update(); };
  probe_.on_change = [this] { update(); };
}

void bus::start() {
  where_->start();
  control_.start();
  if (lanes_) lanes_->start();
  else publishes_.start();
  subscriber_.start();
  registry_.start();
  probe_.start();
  // The subscriber resubscribes by itself after every reconnect; these first
  // calls only put the channels on its list, and nobody awaits the answer:
  // on_ready tells when all of them are held.
  for (auto channel : {keys_.broadcast_channel(), keys_.users_channel(), keys_.control_channel(), own_channel_,
                       probe_.channel(), hello_channel_})
    spawn(control_.executor(), subscriber_.subscribe(std::move(channel)), "subscribe");
}

void bus::stop() {
  subscriber_move_.cancel();
  where_->stop();
  probe_.stop();
  registry_.stop();
  subscriber_.stop();
  pool_.close();
  if (lanes_) lanes_->stop();
  publishes_.stop();
  control_.stop();
}

void bus::follow_primary() {
  metrics::add(metrics_.redis_failovers);
  // Nothing is acknowledged until the control connection is back, on the
  // new primary, and the registry's gate has seen every worker there.
  control_.reset_connection();
  publishes_.reset_connection();
  pool_.drop_connections();
  probe_.verify_now();
  // Only the subscription held now is on the old primary: one the
  // subscriber makes later (its server died) is on the new one, and other
  // workers may already publish to it.
  std::string old_server = subscriber_.peer();
  subscriber_moving_ = !old_server.empty();
  subscriber_move_.expires_after(subscriber_grace);
  subscriber_move_.async_wait([this, old_server](error_code ec) {
    if (ec) return;
    subscriber_moving_ = false;
    if (!old_server.empty() && subscriber_.peer() == old_server) subscriber_.reconnect();
  });
  update();
}

bool bus::subscriber_on_primary() {
  // Sharded, the subscriber is on every shard it needs, not on one server.
  if (subscriber_.sharded() || !subscriber_.is_connected() || !control_.is_up()) return true;
  std::string subscribed_on = subscriber_.peer();
  if (subscribed_on == control_.peer()) return true;
  // At once, before the registry's next heartbeat can vouch for it: other
  // workers' gates must not open on a subscription held elsewhere.
  registry_.unsubscribed();
  // After a move the subscriber leaves when its grace is over.
  if (subscriber_moving_) return false;
  log::warn("redis subscriber is on " + subscribed_on + ", the primary is " + control_.peer() + "; moving it");
  subscriber_.reconnect();
  return false;
}

bool bus::ready() const {
  return control_.is_up() && lanes_up() && subscriber_.is_ready() && registry_.gate_open() && probe_.healthy();
}

bool bus::lanes_up() const { return lanes_ ? lanes_->all_up() : publishes_.is_up(); }

bool bus::welcoming() const { return subscriber_.is_ready() && registry_.announced(); }

void bus::update() {
  ready_.set(ready());
  welcoming_.set(welcoming());
}

asio::awaitable<redis::connection::result> bus::publish_command(std::span<const std::string_view> args) {
  redis::connection::result failed{make_error_code(redis::errc::unavailable), nullptr};
  if (!ready()) co_return failed;
  auto sent_at = std::chrono::steady_clock::now();
  std::uint64_t moves = where_->moves();
  // On a Redis Cluster each channel's shard is another server, with a lane
  // of its own: publishes to one shard keep their order.
  redis::connection::result result;
  if (lanes_) result = co_await lanes_->request(args);
  else result = co_await publishes_.request(args);
  // Answered after the primary moved: perhaps by the old one, whose
  // subscribers other workers have already left.
  if (where_->moves() != moves) co_return failed;
  // An error reply comes back as it is: the caller may know better (a
  // script Redis does not have yet is sent again in full).
  if (auto& ec = std::get<0>(result); ec && ec != redis::errc::server_error) co_return failed;
  observe_publish(sent_at);
  co_return result;
}

asio::awaitable<error_code> bus::publish(const std::string& channel, std::string_view envelope) {
  std::array<std::string_view, 3> args{publish_verb(), channel, envelope};
  auto [ec, reply] = co_await publish_command(args);
  co_return ec ? make_error_code(redis::errc::unavailable) : error_code{};
}

void bus::observe_publish(std::chrono::steady_clock::time_point sent_at) {
  metrics_.publish_latency.observe_ns(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - sent_at).count()));
}

asio::awaitable<bus::transaction_result> bus::transaction(std::span<const std::vector<std::string>> commands) {
  transaction_result failed{make_error_code(redis::errc::unavailable), {}, {}};
  if (!ready()) co_return failed;
  auto sent_at = std::chrono::steady_clock::now();
  std::uint64_t moves = where_->moves();
  transaction_result out;
  out.replies.resize(commands.size());
  // Without a cluster, one group of every command.
  const auto groups = slot_groups(commands, lanes_ != nullptr);
  for (const auto& group : groups) {
    redis::connection::result result;
    if (lanes_) {
      std::vector<std::vector<std::string>> part;
      for (std::size_t i : group) part.push_back(commands[i]);
      result = co_await lanes_->transaction(part);
    } else {
      result = co_await pool_.transaction(commands);
    }
    auto& [ec, reply] = result;
    // EXEC's reply is an array; a null one means the transaction was aborted.
    if (ec || where_->moves() != moves || !reply || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != group.size())
      co_return failed;
    for (std::size_t k = 0; k < group.size(); ++k) out.replies[group[k]] = reply->element[k];
    out.execs.push_back(std::move(reply));
  }
  observe_publish(sent_at);
  co_return out;
}

void bus::on_message(std::string_view channel, std::string_view payload) {
  if (channel == probe_.channel()) {
    probe_.received(payload);
    return;
  }
  if (channel == hello_channel_) {
    registry_.heard(payload);
    return;
  }
  if (channel == keys_.control_channel()) {
    if (auto order = protocol::decode_disconnect(payload)) local_.disconnect(*order);
    else log::warn("bus: dropped a control message it does not know");
    return;
  }
  auto envelope = protocol::decode_envelope(payload);
  if (!envelope) {
    log::warn("bus: dropped a message that is not an envelope");
    return;
  }
  auto frame = std::make_shared<const std::string>(envelope->frame);
  local_.deliver(envelope->kind, envelope->target, frame, envelope->offset);
}

}  // namespace switchboard
