#pragma once
// The worker's Redis commands, sent where they must go. Against one Redis
// (or a Sentinel group's primary), one pool. Against a Redis Cluster, one
// pool per primary: each command goes to the primary of its key's slot
// (key_slot of routing_key); a MOVED reply has the slot map read again and
// the command sent to the node it names; an ASK reply (a slot being
// migrated) sends it once to the node named, after ASKING, on the same
// connection. A transaction goes where its first command's key goes: all
// its keys must share that slot (redis_keys' hash tags see to it).

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/redis/cluster_locator.hpp"
#include "common/redis/pool.hpp"

namespace switchboard::redis {

class router {
 public:
  // Redirections followed for one command before it fails: a map that
  // keeps pointing elsewhere is a cluster in the middle of changing.
  static constexpr int max_redirects = 5;

  // Without `cluster`, one pool on options.where; with it, a pool per
  // primary of the cluster, each with `options` but its own node.
  router(asio::any_io_executor ex, pool_options options, pool_counters& counters,
         std::shared_ptr<cluster_locator> cluster = nullptr);
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  asio::awaitable<connection::result> request(std::span<const std::string_view> args);
  // request("SET", key, value): the arguments must outlive the co_await.
  template <typename... Args>
  asio::awaitable<connection::result> command(const Args&... args) {
    std::array<std::string_view, sizeof...(Args)> argv{std::string_view(args)...};
    co_return co_await request(argv);
  }
  // `commands` as one MULTI/EXEC; see connection::transaction.
  asio::awaitable<connection::result> transaction(std::span<const std::vector<std::string>> commands);

  // See pool::drop_connections and pool::close, for every pool.
  void drop_connections();
  void close();
  bool clustered() const { return cluster_ != nullptr; }

  // The key whose slot decides where `args` go: the first argument, or an
  // EVAL's first key; nullopt for a command with none (INFO, an EVAL of no
  // keys), which any primary serves.
  static std::optional<std::string_view> routing_key(std::span<const std::string_view> args);

 private:
  struct redirect {
    bool ask = false;
    std::string host;
    std::uint16_t port = 0;
  };
  // MOVED or ASK and where to; nullopt for any other reply.
  static std::optional<redirect> redirect_of(const connection::result& result);
  // The pool of the node at host:port, made on first use.
  pool& pool_at(const std::string& host, std::uint16_t port);
  // The pool for `key`'s slot now; nullptr while no primary serves it.
  pool* pool_for(std::optional<std::string_view> key);
  // Runs `send` on the pool for `key`, following redirections.
  template <typename Send>
  asio::awaitable<connection::result> routed(std::optional<std::string_view> key, Send send);

  asio::any_io_executor ex_;
  pool_options options_;
  pool_counters& counters_;
  std::shared_ptr<cluster_locator> cluster_;
  std::map<std::string, std::unique_ptr<pool>> pools_;  // by "host:port"; "" for the one pool
};

}  // namespace switchboard::redis
