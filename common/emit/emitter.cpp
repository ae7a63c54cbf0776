#include "common/emit/emitter.hpp"

#include <array>
#include <stdexcept>
#include <vector>

#include "common/redis/error.hpp"
#include "common/spawn.hpp"

namespace switchboard::emit {
namespace {

bool is_cluster_url(std::string_view url) { return url.starts_with("cluster://"); }

// Not the URL itself in the message: it may hold a password.
redis::endpoint endpoint_of(const std::string& url) {
  if (is_cluster_url(url)) return {};
  std::string why;
  auto ep = redis::parse_endpoint(url, &why);
  if (!ep) throw std::invalid_argument("redis URL: " + why);
  return *ep;
}

std::unique_ptr<cluster_sender> cluster_of(asio::any_io_executor ex, const emitter_options& options) {
  if (!is_cluster_url(options.redis_url)) return nullptr;
  std::string why;
  auto seeds = redis::parse_cluster_url(options.redis_url, &why);
  if (!seeds) throw std::invalid_argument("redis URL: " + why);
  return std::make_unique<cluster_sender>(ex, std::move(*seeds), options.connect_timeout, options.command_timeout);
}

}  // namespace

emitter::emitter(asio::any_io_executor ex, emitter_options options)
    : ex_(ex),
      options_(std::move(options)),
      endpoint_(endpoint_of(options_.redis_url)),
      keys_(options_.channel_prefix),
      cluster_(cluster_of(ex, options_)),
      connect_done_(ex) {
  connect_done_.set();
}

emitter::~emitter() { close(); }

asio::awaitable<error_code> emitter::connect() {
  if (cluster_) co_return co_await cluster_->connect();
  if (connecting_) {
    co_await connect_done_.wait();
    co_return is_connected() ? error_code{} : last_connect_error_;
  }
  if (closed_) co_return make_error_code(redis::errc::closed);
  if (is_connected()) co_return error_code{};
  connecting_ = true;
  connect_done_.reset();
  auto conn = std::make_shared<redis::connection>(ex_, options_.command_timeout);
  error_code ec = co_await conn->connect(endpoint_, options_.connect_timeout);
  if (!ec && closed_) {
    conn->close();
    ec = redis::errc::closed;
  }
  if (!ec) {
    conn_ = conn;
    // Replies complete the requests that wait for them; the loop ends, and
    // fails those still waiting, when the connection does.
    spawn(ex_, conn->run(nullptr), "emitter connection");
  }
  last_connect_error_ = ec;
  connecting_ = false;
  connect_done_.set();
  co_return ec;
}

asio::awaitable<error_code> emitter::to_room(std::string_view room, std::string_view data) {
  co_return co_await publish({protocol::scope::room, room, data});
}

asio::awaitable<error_code> emitter::to_user(std::string_view user, std::string_view data) {
  co_return co_await publish({protocol::scope::user, user, data});
}

asio::awaitable<error_code> emitter::broadcast(std::string_view data) {
  co_return co_await publish({protocol::scope::broadcast, {}, data});
}

asio::awaitable<error_code> emitter::to_connection(std::string_view id, std::string_view data) {
  co_return co_await publish({protocol::scope::direct, id, data});
}

asio::awaitable<error_code> emitter::publish(const message& m) {
  auto ready = prepare(keys_, m);
  if (ready.error || !ready.publish) co_return ready.error;
  if (cluster_) co_return co_await cluster_->publish(ready.publish->channel, ready.publish->envelope);
  if (error_code ec = co_await connect()) co_return ec;
  auto conn = conn_;  // alive until its reply, even if replaced meanwhile
  std::array<std::string_view, 3> argv{"PUBLISH", ready.publish->channel, ready.publish->envelope};
  auto [ec, reply] = co_await conn->request(argv);
  co_return ec;
}

asio::awaitable<emitter::batch_result> emitter::publish_all(std::span<const message> batch) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(batch.size());
  const char* verb = cluster_ ? "SPUBLISH" : "PUBLISH";
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto ready = prepare(keys_, batch[i]);
    if (ready.error) co_return batch_result{ready.error, i};
    if (ready.publish) commands.push_back({verb, std::move(ready.publish->channel), std::move(ready.publish->envelope)});
  }
  if (commands.empty()) co_return batch_result{{}, 0, batch.size()};
  if (cluster_) {
    auto runs = co_await cluster_->publish_runs(commands);
    co_return batch_result{runs.error, 0, runs.error ? runs.published : batch.size()};
  }
  if (error_code ec = co_await connect()) co_return batch_result{ec};
  auto conn = conn_;
  auto [ec, reply] = co_await conn->transaction(commands);
  co_return batch_result{ec, 0, ec ? 0 : batch.size()};
}

void emitter::close() {
  closed_ = true;
  if (conn_) conn_->close();
  if (cluster_) cluster_->close();
}

}  // namespace switchboard::emit
