#include "server/cluster/subscription_probe.hpp"

#include <charconv>
#include <utility>

#include "common/log.hpp"
#include "common/spawn.hpp"

namespace switchboard {

subscription_probe::subscription_probe(asio::any_io_executor ex, redis::router& pool, const redis::client& control,
                                       redis::subscriber& subscriber, std::string channel, std::string_view publish,
                                       metrics::worker_metrics& counters)
    : pool_(pool),
      control_(control),
      subscriber_(subscriber),
      channel_(std::move(channel)),
      publish_(publish),
      metrics_(counters),
      timer_(ex),
      answered_(ex) {}

void subscription_probe::start() { spawn(timer_.get_executor(), loop(), "subscription probe"); }

void subscription_probe::stop() {
  stopped_ = true;
  timer_.cancel();
  answered_.set();
}

void subscription_probe::verify_now() {
  set_healthy(false);
  restart_ = true;
  timer_.cancel();
  answered_.set();
}

void subscription_probe::set_healthy(bool healthy) {
  if (healthy_ == healthy) return;
  healthy_ = healthy;
  if (on_change) on_change();
}

void subscription_probe::received(std::string_view payload) {
  std::uint64_t token = 0;
  std::from_chars(payload.data(), payload.data() + payload.size(), token);
  if (token > returned_) returned_ = token;
  if (returned_ < sent_) return;
  answered_.set();
  if (!healthy_) {
    log::info("subscription probe came back: delivery works again");
    set_healthy(true);
  }
}

asio::awaitable<void> subscription_probe::loop() {
  while (!stopped_) {
    if (!std::exchange(restart_, false)) {
      timer_.expires_after(interval);
      co_await timer_.async_wait(use_nothrow);
    }
    if (stopped_) break;
    restart_ = false;
    // Only a subscriber that believes it holds its channels is probed: one
    // that is reconnecting already reports itself unready.
    if (!subscriber_.is_ready() || !control_.is_up()) continue;
    std::string token = std::to_string(++sent_);
    auto sent_at = std::chrono::steady_clock::now();
    // Down before the PUBLISH: the probe may come back before its reply.
    answered_.reset();
    auto [ec, reply] = co_await pool_.command(publish_, channel_, token);
    if (ec) continue;  // the command side is failing; that is reported elsewhere
    co_await answered_.wait_until(sent_at + deadline);
    // A probe sent before a resubscription may have been lost with the old
    // subscription: that is no failure; the next probe decides.
    if (returned_ >= sent_ || stopped_ || restart_) continue;
    metrics::add(metrics_.probe_failures);
    if (healthy_) log::warn("subscription probe did not come back within 2 s; resubscribing");
    set_healthy(false);
    subscriber_.reconnect();
  }
}

}  // namespace switchboard
