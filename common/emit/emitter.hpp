#pragma once
// Publishes to a Switchboard cluster's clients from any program on Asio,
// without a node in between: it PUBLISHes the bus envelopes the workers
// listen for (docs/protocol.md, "Publishing without HTTP"). Against one
// Redis everything goes over one connection, pipelined, so messages reach
// Redis in the order they were given. Against a Redis Cluster each message
// is an SPUBLISH to the primary of its channel's slot, in order per primary
// (common/emit/cluster_sender.hpp says what order a cluster keeps).
//
// What it gives up against POST /api/publish: the server's restart gate and
// its acknowledgement. A message PUBLISHed while a worker is resubscribing
// after a Redis restart misses that worker's clients, and success here means
// only that Redis took the message.
//
//   emit::emitter out(ioc.get_executor(), {.redis_url = "redis://10.0.0.5:6379"});
//   emit::emitter out(ioc.get_executor(), {.redis_url = "cluster://10.0.0.5:7000,10.0.0.6:7000"});
//   error_code ec = co_await out.to_room("chat:lobby", R"({"text":"hi"})");

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/emit/bus_message.hpp"
#include "common/emit/cluster_sender.hpp"
#include "common/event.hpp"
#include "common/net.hpp"
#include "common/protocol/redis_keys.hpp"
#include "common/redis/connection.hpp"
#include "common/redis/endpoint.hpp"

namespace switchboard::emit {

struct emitter_options {
  // As the server's --redis: redis://[[user]:password@]host[:port][/db],
  // unix:///path[?db=N] or cluster://[[user]:password@]host:port[,host:port...].
  std::string redis_url = "redis://127.0.0.1:6379";
  // As the server's --channel-prefix: the cluster's channels start with it.
  std::string channel_prefix = "sb:";
  // The server's own Redis deadlines: a local Redis answers in microseconds,
  // so a second without a connection, or two without a reply, means trouble.
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
};

// Single-threaded, like the rest of Asio code here: call it on its executor
// only. It must outlive every call in progress. String arguments must
// outlive the co_await of the call they are passed to.
class emitter {
 public:
  // Throws std::invalid_argument when redis_url is not a Redis URL (saying
  // why, without the password). Does not connect: the first call does.
  emitter(asio::any_io_executor ex, emitter_options options);
  ~emitter();
  emitter(const emitter&) = delete;
  emitter& operator=(const emitter&) = delete;

  // Connects unless connected: lets a program find an unreachable Redis
  // before its first message. Publishing connects by itself when needed,
  // again after a connection failed; calls made meanwhile wait for it. On a
  // cluster: reads the slot map (each primary is connected to on first use).
  asio::awaitable<error_code> connect();

  // Each checks its arguments first (an emit::errc, and nothing is sent),
  // then PUBLISHes (SPUBLISH on a cluster). An empty error once Redis has
  // taken the message; else the Redis layer's or the socket's error: after
  // redis::errc::timeout or a lost connection the message may or may not
  // have gone out.
  // `data` is JSON text, sent on normalised (compact).
  asio::awaitable<error_code> to_room(std::string_view room, std::string_view data);
  asio::awaitable<error_code> to_user(std::string_view user, std::string_view data);
  asio::awaitable<error_code> broadcast(std::string_view data);
  // An id of the right form that no worker hands out reaches nobody: an
  // empty error and no command, as when a client sends it.
  asio::awaitable<error_code> to_connection(std::string_view id, std::string_view data);
  asio::awaitable<error_code> publish(const message& m);

  struct batch_result {
    error_code error;
    // With an emit::errc: the position of the first refused message.
    std::size_t refused = 0;
    // Messages Redis took: all of them without an error; on a cluster, after
    // a Redis error, those of the runs before the failed one.
    std::size_t published = 0;
  };
  // Every message of `batch`, in order, in one MULTI/EXEC round trip; or,
  // when one is refused, none of them. On a cluster a transaction cannot
  // span slots: each run of consecutive messages on one channel is one
  // MULTI/EXEC, sent once the run before it was taken, all or none per run.
  asio::awaitable<batch_result> publish_all(std::span<const message> batch);

  // Closes the connection; calls in progress fail with redis::errc::closed,
  // and so do later ones.
  void close();

  const redis_keys& keys() const { return keys_; }

 private:
  bool is_connected() const { return conn_ && conn_->is_open(); }

  asio::any_io_executor ex_;
  emitter_options options_;
  redis::endpoint endpoint_;  // of one Redis; unused on a cluster
  redis_keys keys_;
  std::unique_ptr<cluster_sender> cluster_;  // set for a cluster:// URL
  std::shared_ptr<redis::connection> conn_;
  // Set while no connect is in progress; calls that find one wait on it.
  event connect_done_;
  bool connecting_ = false;
  error_code last_connect_error_;
  bool closed_ = false;
};

}  // namespace switchboard::emit
