#pragma once
// Where the Redis primary is now. Every connection of the client and the
// pool asks its locator before each connect, so a topology whose primary
// moves (Sentinel) needs a locator of its own and nothing else. The
// static one answers the configured endpoint.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/net.hpp"
#include "common/redis/endpoint.hpp"

namespace switchboard::redis {

class locator {
 public:
  virtual ~locator() = default;
  // The endpoint to connect to, or errc::unavailable when none is known.
  virtual asio::awaitable<std::pair<error_code, endpoint>> locate() = 0;
  // What it points at, for logs, without a password.
  virtual std::string describe() const = 0;

  // Watching for the primary to move (Sentinel's +switch-master); a static
  // locator has nothing to watch.
  virtual void start() {}
  virtual void stop() {}
  // A connection found its server to be a replica (a READONLY reply): the
  // primary has moved, whether or not the watch has said so yet.
  virtual void primary_lost() {}
  // The address ("host:port") of the primary last located; empty when the
  // locator is static or has found none yet.
  virtual std::string primary() const { return {}; }
  // What else decides where commands go: for a Redis Cluster, who serves
  // which slot (slot_map::fingerprint); empty for one primary.
  virtual std::string topology() const { return {}; }

  // Called (posted, never from inside a connection's read loop) when the
  // primary has moved: every connection to the old one must go, the
  // subscriber's above all, or its channels go silent.
  std::function<void()> on_moved;

  // Grows by one each time the primary moves, at once (before on_moved
  // runs): a connect or a reply that spans a move may have reached the old
  // primary.
  std::uint64_t moves() const { return moves_; }

 protected:
  void count_move() { ++moves_; }

 private:
  std::uint64_t moves_ = 0;
};

// A locator that always answers `where`.
std::shared_ptr<locator> fixed_locator(endpoint where);

}  // namespace switchboard::redis
