#pragma once
// A bounded set of Redis command connections, each leased to one coroutine
// at a time: for one command or transaction (the worker leases per PUBLISH),
// or for work that must own its connection for a while (WATCH and MULTI
// bodies built across awaits, blocking commands). `size` bounds the commands
// a worker has in flight; a lease held for one round trip costs only that.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/net.hpp"
#include "common/redis/connection.hpp"
#include "common/redis/locator.hpp"
#include "common/redis/pool_counters.hpp"

namespace switchboard::redis {

struct pool_options {
  std::shared_ptr<locator> where;  // asked before every connect
  // Redis runs commands on one thread, so more sockets add no throughput;
  // eight cover a worker's leases that wait on Redis at the same moment.
  std::size_t size = 8;
  // A connection comes back within a command round trip; waiting for it
  // beats failing a request that would have been served microseconds later.
  bool wait = true;
  // 0 = unlimited: acquire_timeout already bounds how long anyone waits.
  std::size_t max_waiters = 0;
  // Hundreds of round trips: a pool still full after a second is
  // overloaded, and failing says so instead of stacking up callers.
  std::chrono::milliseconds acquire_timeout{1000};
  // As client_options: a local Redis accepts in microseconds; a second
  // without an answer means it is not there.
  std::chrono::milliseconds connect_timeout{1000};
  // As client_options: a Redis that stopped answering must not hold a lease,
  // and whoever holds it, forever.
  std::chrono::milliseconds command_timeout{2000};
};

// Hands out at most `size` connections at once, first come first served.
// Single-threaded: call it only on its executor. The pool must outlive every
// lease and every acquire() in progress, because they give their connection
// back to it (checked in debug builds). A connection is broken once its read
// loop ends; a broken one is never handed out: it is dropped when an
// acquire() finds it idle or when its lease returns.
class pool {
 public:
  // One connection for its holder alone until reset() or destruction, which
  // give it back to the pool (or straight to the first waiter) on every
  // path: return, error, exception, destroyed coroutine. Return it as you
  // got it: no MULTI left open, no SUBSCRIBE, no SELECT.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept;
    lease& operator=(lease&& other) noexcept;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { reset(); }

    connection& operator*() const;
    connection* operator->() const;
    explicit operator bool() const { return conn_ != nullptr; }
    // Gives the connection back now; the lease is empty afterwards.
    void reset();

   private:
    friend class pool;
    lease(pool& owner, std::shared_ptr<connection> conn) : owner_(&owner), conn_(std::move(conn)) {}

    pool* owner_ = nullptr;
    std::shared_ptr<connection> conn_;
  };

  using acquire_result = std::tuple<error_code, lease>;

  // Counts into an instance of its own, readable through counters().
  pool(asio::any_io_executor ex, pool_options options);
  // Counts into `counters`, which must outlive the pool.
  pool(asio::any_io_executor ex, pool_options options, pool_counters& counters);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // An idle connection, else a new one while fewer than `size` are open,
  // else waits as the options say. Fails with errc::unavailable when it may
  // not wait (wait = false, max_waiters reached) or the connect failed,
  // errc::timeout after acquire_timeout, errc::closed after close(), and
  // asio::error::operation_aborted when the caller is cancelled while queued.
  asio::awaitable<acquire_result> acquire();

  // One command on a connection leased for its round trip only. A failed
  // acquire() comes back as the error, with no reply.
  asio::awaitable<connection::result> request(std::span<const std::string_view> args);
  // request("PUBLISH", channel, message): the arguments must outlive the co_await.
  template <typename... Args>
  asio::awaitable<connection::result> command(const Args&... args) {
    std::array<std::string_view, sizeof...(Args)> argv{std::string_view(args)...};
    co_return co_await request(argv);
  }

  // Closes every open connection, leased ones too (their requests fail);
  // the pool stays open and connects anew as it is asked. For when the
  // server they are on is no longer the primary. A connect in progress is
  // left alone: the locator's move count fails it (connection::connect).
  void drop_connections();

  // Closes every connection, leased ones too, and fails every waiter with
  // errc::closed; later acquires fail the same way. Leases still out stay
  // valid objects and are dropped when they return.
  void close();

  const pool_counters& counters() const { return counters_; }

 private:
  struct waiter;
  class place;

  asio::awaitable<acquire_result> open(place room);
  lease lend(std::shared_ptr<connection> conn);
  std::shared_ptr<connection> take_idle();
  void give_back(std::shared_ptr<connection> conn);
  void forget(const std::shared_ptr<connection>& conn);
  void offer_place();
  waiter& dequeue_first();
  void leave(waiter& w);
  void publish();

  asio::any_io_executor ex_;
  pool_options options_;
  pool_counters own_counters_;
  pool_counters& counters_;
  // Every connection counted in `all`: idle, leased, or still connecting.
  std::vector<std::shared_ptr<connection>> connections_;
  // Invariant: idle_ is empty while anyone waits.
  std::vector<std::shared_ptr<connection>> idle_;
  std::size_t in_use_ = 0;
  std::list<waiter*> waiters_;  // oldest first
  bool closed_ = false;
};

}  // namespace switchboard::redis
