#include "server/cluster/bus.hpp"

#include "common/log.hpp"
#include "common/protocol/envelope.hpp"
#include "common/redis/error.hpp"
#include "common/spawn.hpp"

namespace switchboard {
namespace {

redis::client_options options_for(const config& cfg, std::string name) {
  redis::client_options options;
  options.where = redis::fixed_locator(cfg.redis);
  options.name = std::move(name);
  return options;
}

redis::pool_options pool_options_for(const config& cfg) {
  redis::pool_options options;
  options.where = redis::fixed_locator(cfg.redis);
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
      own_channel_(keys.direct_channel(worker_key)),
      hello_channel_(keys.hello_channel()),
      local_(local),
      control_(ex, options_for(cfg, "redis control")),
      publishes_(ex, options_for(cfg, "redis publisher")),
      pool_(ex, pool_options_for(cfg), counters.pool),
      subscriber_(ex, options_for(cfg, "redis subscriber"),
                  [this](std::string_view channel, std::string_view payload) { on_message(channel, payload); }),
      registry_(ex, control_, keys, worker_key, cfg.liveness_timeout),
      probe_(ex, pool_, control_, subscriber_, keys.probe_channel(worker_key), counters),
      metrics_(counters),
      ready_(ex),
      welcoming_(ex) {
  control_.on_up = [this] {
    registry_.commands_up();
    update();
  };
  control_.on_down = [this](error_code) { update(); };
  publishes_.on_up = [this] { update(); };
  publishes_.on_down = [this](error_code) { update(); };
  subscriber_.on_ready = [this] {
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
  registry_.on_change = [this] { update(); };
  probe_.on_change = [this] { update(); };
}

void bus::start() {
  control_.start();
  publishes_.start();
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
  probe_.stop();
  registry_.stop();
  subscriber_.stop();
  pool_.close();
  publishes_.stop();
  control_.stop();
}

bool bus::ready() const {
  return control_.is_up() && publishes_.is_up() && subscriber_.is_ready() && registry_.gate_open() &&
         probe_.healthy();
}

bool bus::welcoming() const { return subscriber_.is_ready() && registry_.announced(); }

void bus::update() {
  ready_.set(ready());
  welcoming_.set(welcoming());
}

asio::awaitable<error_code> bus::publish(const std::string& channel, std::string_view envelope) {
  if (!ready()) co_return make_error_code(redis::errc::unavailable);
  auto sent_at = std::chrono::steady_clock::now();
  auto [ec, reply] = co_await publishes_.command("PUBLISH", channel, envelope);
  if (ec) co_return make_error_code(redis::errc::unavailable);
  metrics_.publish_latency.observe_ns(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - sent_at).count()));
  co_return error_code{};
}

asio::awaitable<error_code> bus::publish_all(std::span<const std::pair<std::string, std::string>> messages) {
  if (!ready()) co_return make_error_code(redis::errc::unavailable);
  auto sent_at = std::chrono::steady_clock::now();
  std::vector<std::vector<std::string>> commands;
  commands.reserve(messages.size());
  for (const auto& [channel, envelope] : messages) commands.push_back({"PUBLISH", channel, envelope});
  auto [aec, conn] = co_await pool_.acquire();
  if (aec) co_return make_error_code(redis::errc::unavailable);
  auto [ec, reply] = co_await conn->transaction(commands);
  if (ec) co_return make_error_code(redis::errc::unavailable);
  metrics_.publish_latency.observe_ns(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - sent_at).count()));
  co_return error_code{};
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
  local_.deliver(envelope->kind, envelope->target, frame);
}

}  // namespace switchboard
