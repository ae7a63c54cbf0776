#include "common/redis/connection.hpp"

#include <array>

#include "common/redis/error.hpp"

namespace switchboard::redis {
namespace {

// Why: a reply that is an error becomes an error_code, and the reply stays
// available to callers that want its text.
error_code error_of(const reply_ptr& reply) {
  return reply && reply->type == REDIS_REPLY_ERROR ? make_error_code(errc::server_error) : error_code{};
}

}  // namespace

connection::connection(asio::any_io_executor ex, std::chrono::milliseconds command_timeout)
    : ex_(ex), socket_(ex), watchdog_(ex), command_timeout_(command_timeout) {}

asio::awaitable<error_code> connection::connect(std::shared_ptr<locator> where, std::chrono::milliseconds timeout) {
  std::uint64_t moves = where->moves();
  auto [ec, ep] = co_await where->locate();
  if (ec) co_return ec;
  where_ = std::move(where);
  ec = co_await connect(ep, timeout);
  // The primary moved while we connected: this may be the old one.
  if (!ec && where_->moves() != moves) {
    close();
    ec = errc::not_primary;
  }
  co_return ec;
}

asio::awaitable<error_code> connection::connect(const endpoint& ep, std::chrono::milliseconds timeout) {
  asio::steady_timer deadline(ex_);
  deadline.expires_after(timeout);
  // Shared with the timer's handler, which may run after this frame is gone.
  auto expired = std::make_shared<bool>(false);
  deadline.async_wait([self = shared_from_this(), expired](error_code ec) {
    if (ec) return;
    *expired = true;
    error_code ignored;
    self->socket_.close(ignored);
  });

  error_code ec;
  if (ep.is_unix()) {
    std::tie(ec) = co_await socket_.async_connect(asio::local::stream_protocol::endpoint(ep.socket_path), use_nothrow);
  } else {
    tcp::resolver resolver(ex_);
    auto [rec, results] = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_nothrow);
    ec = rec;
    if (!ec && !*expired) {
      ec = asio::error::host_not_found;
      for (const auto& entry : results) {
        error_code ignored;
        socket_.close(ignored);
        std::tie(ec) = co_await socket_.async_connect(entry.endpoint(), use_nothrow);
        if (!ec || *expired) break;
      }
      if (!ec) socket_.set_option(tcp::no_delay(true), ec);
    }
  }
  if (!ec && !ep.password.empty()) {
    std::array<std::string_view, 3> auth_user{"AUTH", ep.user, ep.password};
    std::array<std::string_view, 2> auth{"AUTH", ep.password};
    std::span<const std::string_view> args = ep.user.empty() ? std::span<const std::string_view>(auth)
                                                              : std::span<const std::string_view>(auth_user);
    std::tie(ec, std::ignore) = co_await handshake_request(args);
  }
  if (!ec && ep.db != 0) {
    std::string db = std::to_string(ep.db);
    std::array<std::string_view, 2> select{"SELECT", db};
    std::tie(ec, std::ignore) = co_await handshake_request(select);
  }
  if (!ec && ep.primary_only) {
    std::array<std::string_view, 1> role{"ROLE"};
    auto [rec, reply] = co_await handshake_request(role);
    ec = rec;
    // ROLE's first element: "master", "slave" or "sentinel".
    bool primary = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                   reply->element[0]->type == REDIS_REPLY_STRING && text_of(*reply->element[0]) == "master";
    if (!ec && !primary) ec = errc::not_primary;
  }
  deadline.cancel();
  if (*expired) ec = errc::timeout;
  if (ec) {
    error_code ignored;
    socket_.close(ignored);
    co_return ec;
  }
  open_ = true;
  primary_only_ = ep.primary_only;
  peer_ = ep.is_unix() ? ep.socket_path : ep.host + ":" + std::to_string(ep.port);
  arm_watchdog();
  co_return error_code{};
}

bool connection::demoted_by(const reply_ptr& reply) const {
  return primary_only_ && reply && reply->type == REDIS_REPLY_ERROR && text_of(*reply).starts_with("READONLY");
}

asio::awaitable<connection::result> connection::handshake_request(std::span<const std::string_view> args) {
  std::string out;
  append_command(out, args);
  auto [wec, written] = co_await asio::async_write(socket_, asio::buffer(out), use_nothrow);
  if (wec) co_return result{wec, nullptr};
  std::array<char, 512> buf;
  for (;;) {
    error_code perr;
    if (auto reply = reader_.next(perr)) {
      error_code ec = error_of(reply);
      co_return result{ec, std::move(reply)};
    }
    if (perr) co_return result{perr, nullptr};
    auto [rec, n] = co_await socket_.async_read_some(asio::buffer(buf), use_nothrow);
    if (rec) co_return result{rec, nullptr};
    reader_.feed(buf.data(), n);
  }
}

asio::awaitable<error_code> connection::run(push_handler on_push) {
  auto self = shared_from_this();
  std::array<char, 16 * 1024> buf;
  while (open_) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), use_nothrow);
    if (ec) {
      fail(ec);
      break;
    }
    reader_.feed(buf.data(), n);
    for (;;) {
      error_code perr;
      reply_ptr reply = reader_.next(perr);
      if (perr) {
        fail(perr);
        break;
      }
      if (!reply) break;
      if (!waiters_.empty()) {
        // Taken before the move: the order in which arguments are evaluated
        // is unspecified, and GCC moves `reply` out first.
        error_code ec = error_of(reply);
        bool demoted = demoted_by(reply);
        complete_front(ec, std::move(reply));
        if (demoted) {
          // Every later write would fail the same way: go, and let the
          // locator move the rest of the worker.
          if (where_) where_->primary_lost();
          fail(errc::not_primary);
          break;
        }
      } else if (on_push) {
        on_push(std::move(reply));
      } else {
        fail(errc::protocol_error);  // a reply nobody asked for
        break;
      }
    }
  }
  co_return failure_;
}

void connection::send(std::span<const std::string_view> args) {
  if (!open_) return;
  append_command(pending_out_, args);
  write_soon();
}

void connection::send_ignoring_reply(std::span<const std::string_view> args) {
  if (!open_) return;
  append_command(pending_out_, args);
  waiters_.push_back({{}, std::chrono::steady_clock::now()});
  write_soon();
}

asio::awaitable<connection::result> connection::request(std::span<const std::string_view> args) {
  if (!open_) co_return result{make_error_code(errc::unavailable), nullptr};
  auto self = shared_from_this();
  co_return co_await asio::async_initiate<decltype(use_nothrow), void(error_code, reply_ptr)>(
      [this, args](auto handler) {
        append_command(pending_out_, args);
        waiters_.push_back({std::move(handler), std::chrono::steady_clock::now()});
        write_soon();
      },
      use_nothrow);
}

asio::awaitable<connection::result> connection::transaction(std::span<const std::vector<std::string>> commands) {
  if (!open_) co_return result{make_error_code(errc::unavailable), nullptr};
  auto self = shared_from_this();
  co_return co_await asio::async_initiate<decltype(use_nothrow), void(error_code, reply_ptr)>(
      [this, commands](auto handler) {
        auto now = std::chrono::steady_clock::now();
        std::array<std::string_view, 1> multi{"MULTI"};
        append_command(pending_out_, multi);
        waiters_.push_back({{}, now});
        std::vector<std::string_view> args;
        for (const auto& command : commands) {
          args.assign(command.begin(), command.end());
          append_command(pending_out_, args);
          waiters_.push_back({{}, now});
        }
        std::array<std::string_view, 1> exec{"EXEC"};
        append_command(pending_out_, exec);
        waiters_.push_back({std::move(handler), now});
        write_soon();
      },
      use_nothrow);
}

void connection::write_soon() {
  if (write_posted_ || writing_) return;
  // Once the handlers ready now have run: the commands that all of them
  // make (the publishes of many sessions) leave in one write.
  write_posted_ = true;
  asio::post(ex_, [self = shared_from_this()] {
    self->write_posted_ = false;
    self->start_write();
  });
}

void connection::start_write() {
  if (writing_ || pending_out_.empty() || !open_) return;
  writing_ = true;
  in_flight_.swap(pending_out_);
  pending_out_.clear();
  asio::async_write(socket_, asio::buffer(in_flight_), [self = shared_from_this()](error_code ec, std::size_t) {
    self->writing_ = false;
    self->in_flight_.clear();
    if (ec) {
      self->fail(ec);
      return;
    }
    self->start_write();
  });
}

void connection::complete_front(error_code ec, reply_ptr reply) {
  auto handler = std::move(waiters_.front().handler);
  waiters_.pop_front();
  if (!handler) return;
  // Posted, not called: the waiting coroutine must not run inside our read loop.
  asio::post(ex_, asio::append(std::move(handler), ec, std::move(reply)));
}

void connection::fail(error_code ec) {
  if (!failure_) failure_ = ec;
  open_ = false;
  error_code ignored;
  socket_.close(ignored);
  watchdog_.cancel();
  while (!waiters_.empty()) complete_front(failure_, nullptr);
}

void connection::close() { fail(errc::closed); }

void connection::arm_watchdog() {
  watchdog_.expires_after(command_timeout_ / 4);
  watchdog_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->open_) return;
    if (!self->waiters_.empty() &&
        std::chrono::steady_clock::now() - self->waiters_.front().since > self->command_timeout_) {
      self->fail(errc::timeout);
      return;
    }
    self->arm_watchdog();
  });
}

}  // namespace switchboard::redis
