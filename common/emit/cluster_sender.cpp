#include "common/emit/cluster_sender.hpp"

#include <array>

#include "common/redis/error.hpp"

namespace switchboard::emit {
namespace {

redis::pool_options pool_options_for(std::chrono::milliseconds connect_timeout,
                                     std::chrono::milliseconds command_timeout) {
  redis::pool_options options;
  // One connection per primary: its commands go out one after the other, in
  // the order they were given (see the header).
  options.size = 1;
  options.connect_timeout = connect_timeout;
  options.command_timeout = command_timeout;
  // A caller queued behind many others waits for all of them.
  options.acquire_timeout = command_timeout;
  return options;
}

}  // namespace

cluster_sender::cluster_sender(asio::any_io_executor ex, redis::cluster_seeds seeds,
                               std::chrono::milliseconds connect_timeout, std::chrono::milliseconds command_timeout)
    : connect_timeout_(connect_timeout),
      // The home slot is unused: every command is routed by its own key.
      map_(std::make_shared<redis::cluster_locator>(ex, std::move(seeds), 0)),
      router_(ex, pool_options_for(connect_timeout, command_timeout), counters_, map_) {}

cluster_sender::~cluster_sender() { close(); }

asio::awaitable<error_code> cluster_sender::connect() {
  if (closed_) co_return make_error_code(redis::errc::closed);
  if (!started_) {
    started_ = true;
    map_->start();
  }
  if (!map_->map()) co_await map_->refreshed(connect_timeout_);
  if (closed_) co_return make_error_code(redis::errc::closed);
  co_return map_->map() ? error_code{} : make_error_code(redis::errc::unavailable);
}

asio::awaitable<error_code> cluster_sender::publish(std::string_view channel, std::string_view envelope) {
  if (error_code ec = co_await connect()) co_return ec;
  std::array<std::string_view, 3> argv{"SPUBLISH", channel, envelope};
  auto [ec, reply] = co_await router_.request(argv);
  co_return ec;
}

asio::awaitable<cluster_sender::runs_result> cluster_sender::publish_runs(
    std::span<const std::vector<std::string>> commands) {
  runs_result result;
  if (error_code ec = co_await connect()) {
    result.error = ec;
    co_return result;
  }
  std::size_t begin = 0;
  while (begin < commands.size()) {
    std::size_t end = begin + 1;
    // [1] is the channel: SPUBLISH channel envelope.
    while (end < commands.size() && commands[end][1] == commands[begin][1]) ++end;
    auto run = commands.subspan(begin, end - begin);
    auto [ec, reply] = co_await router_.transaction(run);
    if (ec) {
      result.error = ec;
      co_return result;
    }
    result.published += run.size();
    begin = end;
  }
  co_return result;
}

void cluster_sender::close() {
  if (closed_) return;
  closed_ = true;
  map_->stop();
  router_.close();
}

}  // namespace switchboard::emit
