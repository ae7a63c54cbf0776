#include "common/redis/pool.hpp"

#include <cassert>
#include <optional>
#include <stdexcept>
#include <utility>

#include "common/redis/error.hpp"
#include "common/spawn.hpp"

namespace switchboard::redis {
namespace {

// The pool is the only writer: a load and a store need no read-modify-write.
void bump(std::atomic<std::uint64_t>& total) {
  total.store(total.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

pool::acquire_result failure(errc e) { return {make_error_code(e), pool::lease{}}; }

}  // namespace

// A place in `all` taken by a connection that is still connecting. Unless
// claim() takes the connection once it is open, the destructor gives the
// place back, on every way out of open(): error, exception, destroyed frame.
class pool::place {
 public:
  explicit place(pool& owner)
      : owner_(&owner), conn_(std::make_shared<connection>(owner.ex_, owner.options_.command_timeout)) {
    owner.connections_.push_back(conn_);
    owner.publish();
  }
  place(place&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), conn_(std::move(other.conn_)) {}
  place& operator=(place&&) = delete;
  ~place() {
    if (owner_) owner_->forget(conn_);
  }

  connection& conn() const { return *conn_; }
  std::shared_ptr<connection> claim() {
    owner_ = nullptr;
    return std::move(conn_);
  }

 private:
  pool* owner_;
  std::shared_ptr<connection> conn_;
};

// An acquire() queued for a connection, living in that coroutine's frame.
// The pool stores what it hands over here before the coroutine resumes, so
// a frame destroyed in between gives it back through these members'
// destructors: nothing handed to a dead waiter is lost.
struct pool::waiter {
  explicit waiter(pool& p) : owner(p), wake(p.ex_), position(p.waiters_.insert(p.waiters_.end(), this)) {
    owner.publish();
  }
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;
  ~waiter() {
    if (queued) owner.leave(*this);
  }

  pool& owner;
  // Expires at the acquire deadline; the pool cancels it to wake us early.
  asio::steady_timer wake;
  std::list<waiter*>::iterator position;
  bool queued = true;
  lease granted;              // a returned connection, or
  std::optional<place> room;  // a place to open a new one in
};

pool::lease::lease(lease&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), conn_(std::move(other.conn_)) {}

pool::lease& pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::exchange(other.owner_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

connection& pool::lease::operator*() const {
  assert(conn_ && "dereferencing an empty lease");
  return *conn_;
}

connection* pool::lease::operator->() const {
  assert(conn_ && "dereferencing an empty lease");
  return conn_.get();
}

void pool::lease::reset() {
  if (!owner_) return;
  std::exchange(owner_, nullptr)->give_back(std::move(conn_));
}

pool::pool(asio::any_io_executor ex, pool_options options) : pool(ex, std::move(options), own_counters_) {}

pool::pool(asio::any_io_executor ex, pool_options options, pool_counters& counters)
    : ex_(ex), options_(std::move(options)), counters_(counters) {
  if (options_.size == 0) throw std::invalid_argument("redis pool size must be at least 1");
  publish();
}

pool::~pool() {
  close();
  // Leased and connecting connections are all that close() leaves behind.
  assert(connections_.empty() && "a redis::pool::lease or acquire() outlived its pool");
}

asio::awaitable<pool::acquire_result> pool::acquire() {
  if (closed_) co_return failure(errc::closed);
  if (auto conn = take_idle()) co_return acquire_result{error_code{}, lend(std::move(conn))};
  if (connections_.size() < options_.size) co_return co_await open(place(*this));
  if (!options_.wait || (options_.max_waiters != 0 && waiters_.size() >= options_.max_waiters)) {
    bump(counters_.acquire_rejections);
    co_return failure(errc::unavailable);
  }

  waiter w(*this);
  w.wake.expires_after(options_.acquire_timeout);
  auto [ec] = co_await w.wake.async_wait(use_nothrow);
  // Decided by what was handed over, not by `ec`: the deadline may have
  // passed after the pool cancelled the timer, or the other way round.
  if (closed_) co_return failure(errc::closed);
  if (w.queued) {
    // Nothing came; w's destructor takes it out of the queue.
    if (ec == asio::error::operation_aborted) co_return acquire_result{ec, lease{}};
    bump(counters_.acquire_timeouts);
    co_return failure(errc::timeout);
  }
  if (w.room) co_return co_await open(std::move(*w.room));
  co_return acquire_result{error_code{}, std::move(w.granted)};
}

asio::awaitable<connection::result> pool::request(std::span<const std::string_view> args) {
  auto [ec, conn] = co_await acquire();
  if (ec) co_return connection::result{ec, nullptr};
  co_return co_await conn->request(args);
}

asio::awaitable<pool::acquire_result> pool::open(place room) {
  error_code ec = co_await room.conn().connect(options_.where, options_.connect_timeout);
  // close() ran meanwhile: the connect may even have succeeded on a socket
  // it closed, as connect() reopens it for the next address.
  if (closed_) co_return failure(errc::closed);
  if (ec) {
    bump(counters_.connect_failures);
    co_return failure(errc::unavailable);
  }
  bump(counters_.connects);
  auto conn = room.claim();
  // Replies only arrive while the read loop runs; once it ends, is_open()
  // is false and the connection is dropped when next seen.
  spawn(ex_, conn->run(nullptr), "redis pool connection");
  co_return acquire_result{error_code{}, lend(std::move(conn))};
}

pool::lease pool::lend(std::shared_ptr<connection> conn) {
  ++in_use_;
  publish();
  return lease(*this, std::move(conn));
}

std::shared_ptr<connection> pool::take_idle() {
  while (!idle_.empty()) {
    // Last in, first out: the most recently used connection is the one most
    // recently seen working.
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    if (conn->is_open()) return conn;
    bump(counters_.broken_discarded);
    forget(conn);
  }
  return nullptr;
}

void pool::give_back(std::shared_ptr<connection> conn) {
  assert(in_use_ > 0);
  --in_use_;
  if (closed_ || !conn->is_open()) {
    if (!closed_) bump(counters_.broken_discarded);
    forget(conn);
    return;
  }
  if (!waiters_.empty()) {
    waiter& w = dequeue_first();
    w.granted = lend(std::move(conn));
    w.wake.cancel();
  } else {
    idle_.push_back(std::move(conn));
  }
  publish();
}

// Drops a connection that is broken, failed to connect, or outlived close(),
// and lets the first waiter open a new one in its place.
void pool::forget(const std::shared_ptr<connection>& conn) {
  conn->close();
  std::erase(connections_, conn);
  publish();
  offer_place();
}

void pool::offer_place() {
  if (closed_ || waiters_.empty() || connections_.size() >= options_.size) return;
  waiter& w = dequeue_first();
  w.room.emplace(*this);
  w.wake.cancel();
}

pool::waiter& pool::dequeue_first() {
  waiter& w = *waiters_.front();
  waiters_.pop_front();
  w.queued = false;
  publish();
  return w;
}

void pool::leave(waiter& w) {
  waiters_.erase(w.position);
  w.queued = false;
  publish();
}

void pool::drop_connections() {
  // Broken ones are dropped when next seen, as any broken connection is.
  for (const auto& conn : connections_)
    if (conn->is_open()) conn->close();
}

void pool::close() {
  closed_ = true;
  for (const auto& conn : connections_) conn->close();
  for (const auto& conn : idle_) std::erase(connections_, conn);
  idle_.clear();
  while (!waiters_.empty()) dequeue_first().wake.cancel();
  publish();
}

void pool::publish() {
  counters_.all.store(connections_.size(), std::memory_order_relaxed);
  counters_.idle.store(idle_.size(), std::memory_order_relaxed);
  counters_.in_use.store(in_use_, std::memory_order_relaxed);
  counters_.waiting.store(waiters_.size(), std::memory_order_relaxed);
}

}  // namespace switchboard::redis
