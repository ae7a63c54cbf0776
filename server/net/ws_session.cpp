#include "server/net/ws_session.hpp"

#include <memory_resource>
#include <set>

#include "common/expected_close.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/protocol/frames.hpp"
#include "common/wall_clock.hpp"
#include "server/worker_context.hpp"

namespace switchboard {
namespace {

// How long a closing session may take to get its close frame out.
constexpr std::chrono::seconds close_grace{5};

// PROTOCOL.md, "Token lifetime".
constexpr auto token_expired = static_cast<websocket::close_code>(4001);

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The human-readable half of an error frame for errors raised here.
std::string_view describe(protocol::error_kind kind) {
  switch (kind) {
    case protocol::error_kind::unavailable: return "the message broker cannot be reached; retry";
    case protocol::error_kind::too_many_rooms: return "this connection is in too many rooms";
    case protocol::error_kind::rate_limited: return "too many requests; slow down";
    default: return "request refused";
  }
}

}  // namespace

ws_session::ws_session(tcp::socket socket, worker_context& ctx)
    : ws_(std::move(socket), ctx.executor, &ctx.sends, &ctx.metrics.socket_sends), ctx_(ctx) {
  ctx_.session_opened();
}

ws_session::~ws_session() { ctx_.session_closed(); }

void ws_session::start(http::request<http::string_body> request, identity who) {
  user_ = std::move(who.user);
  grants_ = std::move(who.grants);
  // No timeouts of Beast's: each would keep a timer pending per connection.
  // Peers that vanish without a FIN are found by the worker's idle watch;
  // the upgrade request was read under the HTTP deadline, the answer to it
  // goes to the kernel at once, and a close has its own grace timer.
  websocket::stream_base::timeout off{};
  off.handshake_timeout = websocket::stream_base::none();
  off.idle_timeout = websocket::stream_base::none();
  off.keep_alive_pings = false;
  ws_.set_option(off);
  // Pings and pongs count as hearing from the peer, like messages. After
  // the peer's close frame (which Beast answers) no frame may follow.
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    heard_ = true;
    if (kind == websocket::frame_type::close) peer_closed_ = true;
  });
  ws_.read_message_max(ctx_.cfg.max_message_bytes);
  // One frame per message: a server does not mask, so splitting gains nothing.
  ws_.auto_fragment(false);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "switchboard"); }));

  // The upgrade request is freed once the handshake is over.
  auto upgrade = std::make_unique<http::request<http::string_body>>(std::move(request));
  auto& req = *upgrade;
  ws_.async_accept(req, [self = shared_from_this(), upgrade = std::move(upgrade), deadline = who.deadline](
                            error_code ec) { self->on_accepted(ec, deadline); });
}

void ws_session::on_accepted(error_code ec, std::optional<std::int64_t> deadline) {
  if (ec) return;
  if (deadline) ctx_.expiries.schedule(*this, *deadline);
  ctx_.idle.watch(*this);
  id_ = ctx_.ids.next();
  metrics::add(ctx_.metrics.connections_accepted);
  metrics::add(ctx_.metrics.connections_open);
  ctx_.hub.add(*this);
  personal_held_ = ctx_.rooms.hold_personal(*this);
  send(protocol::welcome_frame(id_, ctx_.cfg.node, ctx_.index, user_));
  // The welcome is the whole of this turn's output for the connection, and
  // the client waits for it: out now, not in the drain (which then finds
  // the queue empty).
  write_pending();
  // Upgraded while the worker stops: it still gets a proper goodbye.
  if (ctx_.stopping) close(websocket::close_code::going_away, "server shutting down");
  read_message();
}

void ws_session::read_message() {
  if (ws_.next_layer().may_hold_unread(messages_taken_)) return read_now();
  wait_readable();
}

void ws_session::wait_readable() {
  short_message_.reset();
  // In a block of exactly its size: Asio's per-thread recycling would hand
  // this small handler a large block left by the handshake, and it is held
  // for as long as the client stays idle.
  ws_.next_layer().async_wait_readable(asio::bind_allocator(
      std::pmr::polymorphic_allocator<>(std::pmr::new_delete_resource()),
      [self = shared_from_this()](error_code ec, std::size_t) { self->on_readable(ec); }));
}

void ws_session::on_readable(error_code ec) {
  // The end of the stream, a reset, or the socket closed here. Not Beast's
  // to find: Asio takes a receive that got no bytes for a drained socket
  // and, its epoll registration being edge-triggered, would leave a read
  // started now waiting for an event that has already come.
  if (ec) return end(ec);
  // The answer to the idle watch's ping: taken here, or Beast's read would
  // stay pending after it until the next message.
  if (ws_.next_layer().take_pong()) {
    heard_ = true;
    return wait_readable();
  }
  // Anything else (a message, a ping, a close frame) is Beast's to read.
  read_now();
}

void ws_session::read_now() {
  if (!short_message_) short_message_ = std::make_unique<std::array<char, short_message_bytes>>();
  ws_.async_read_some(asio::buffer(*short_message_), [self = shared_from_this()](error_code ec, std::size_t n) {
    self->on_message_start(ec, n);
  });
}

void ws_session::on_message_start(error_code ec, std::size_t n) {
  if (ec) return end(ec);
  heard_ = true;
  metrics::add(ctx_.metrics.bytes_received, n);
  if (ws_.is_message_done()) {
    ++messages_taken_;
    return on_message(std::string_view(short_message_->data(), n));
  }
  // Longer than short_message_: read the rest after what came so far.
  long_message_ = std::make_unique<beast::flat_buffer>();
  long_message_->commit(asio::buffer_copy(long_message_->prepare(n), asio::buffer(*short_message_, n)));
  ws_.async_read(*long_message_, [self = shared_from_this()](error_code ec, std::size_t n) {
    self->on_message_rest(ec, n);
  });
}

void ws_session::on_message_rest(error_code ec, std::size_t n) {
  auto message = std::move(long_message_);
  if (ec) return end(ec);
  ++messages_taken_;
  metrics::add(ctx_.metrics.bytes_received, n);
  auto data = message->cdata();
  on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
}

void ws_session::on_message(std::string_view text) {
  // A closing session carries nothing out any more: it could not answer.
  if (closing_) return read_message();
  // Every frame counts against the budget, pings and bad ones included.
  auto budget = budget_.take(monotonic_ns(), ctx_.client_rate);
  if (budget == budget_verdict::exhausted) {
    metrics::add(ctx_.metrics.rate_limit_closes);
    log::debug("session " + id_ + ": went on sending while rate limited, closing");
    begin_close(websocket::close_reason(websocket::close_code::policy_error, "rate limited"));
    return read_message();
  }
  bool refused = budget == budget_verdict::refused;
  if (ws_.got_binary()) {
    end_personal_hold(nullptr);
    auto t = answers_.open();
    if (refused) answer_error(t, protocol::error_kind::rate_limited, std::nullopt);
    else answer_error(t, protocol::error_kind::unsupported, "binary frames are not supported", std::nullopt);
    return finish_on_the_spot(t);
  }
  auto parsed = protocol::parse_request(text);
  if (auto* err = std::get_if<protocol::request_error>(&parsed)) {
    end_personal_hold(nullptr);
    metrics::add(ctx_.metrics.received[metrics::request_types.size() - 1]);
    auto t = answers_.open();
    if (refused) answer_error(t, protocol::error_kind::rate_limited, err->ref);
    else answer_error(t, err->kind, err->message, err->ref);
    return finish_on_the_spot(t);
  }
  auto& req = std::get<protocol::request>(parsed);
  metrics::add(ctx_.metrics.received[static_cast<std::size_t>(req.type)]);
  end_personal_hold(refused ? nullptr : &req);
  auto t = answers_.open();
  if (refused) {
    answer_error(t, protocol::error_kind::rate_limited, req.ref);
    return finish_on_the_spot(t);
  }
  if (auto why = forbidden(req)) {
    answer_error(t, protocol::error_kind::forbidden, *why, req.ref);
    return finish_on_the_spot(t);
  }
  // Answered on the spot (behind the answers still due): a ping, and a
  // direct message to an id no worker hands out (no such client is connected).
  if (req.type == protocol::request_type::ping) {
    answer(t, protocol::pong_frame(req.ref));
    return finish_on_the_spot(t);
  }
  if (req.type == protocol::request_type::direct && req.user.empty() &&
      !publisher::reaches_anyone(protocol::scope::direct, req.to)) {
    if (req.ref) answer(t, protocol::ack_frame(*req.ref));
    return finish_on_the_spot(t);
  }
  // A request that changes what the session is (its rooms, its token) is
  // waited for before the next one is read, so that what follows sees it done.
  const bool alone = req.type == protocol::request_type::join || req.type == protocol::request_type::leave ||
                     req.type == protocol::request_type::refresh;
  if (alone) {
    waiting_alone_ = true;
    // It also starts only once every earlier request has been answered: a
    // recovering join sends its ack, the stored messages and then the held
    // live ones at once, which must not overtake answers still due.
    if (answers_.in_flight() > 1) {
      parked_ = std::make_unique<parked_request>(parked_request{std::move(req), t});
      read_paused_ = true;
      return;
    }
  }
  start(std::move(req), t, alone);
  read_next();
}

void ws_session::start(protocol::request req, answer_order::ticket t, bool alone) {
  // Not common/spawn.hpp's policy: the completion puts the answers in order
  // and may resume reading, and a request that failed by an exception ends
  // that request only, not the worker's other clients.
  asio::co_spawn(ws_.get_executor(), serve(std::move(req), t),
                 [self = shared_from_this(), t, alone](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       log::error("session " + self->id_ + ": request failed: " + ex.what());
                     }
                   }
                   if (alone) self->waiting_alone_ = false;
                   self->finish_request(t);
                 });
}

void ws_session::answer(answer_order::ticket t, std::string frame) {
  answers_.add(t, std::make_shared<const std::string>(std::move(frame)),
               [this](answer_order::frame_ptr f) { send(std::move(f)); });
}

void ws_session::finish_on_the_spot(answer_order::ticket t) {
  answers_.finish(t, [this](answer_order::frame_ptr f) { send(std::move(f)); });
  read_next();
}

void ws_session::finish_request(answer_order::ticket t) {
  answers_.finish(t, [this](answer_order::frame_ptr f) { send(std::move(f)); });
  if (parked_ && answers_.in_flight() == 1 && !ended_) {
    auto parked = std::move(parked_);
    return start(std::move(parked->req), parked->t, true);
  }
  if (read_paused_ && !ended_ && may_read()) {
    read_paused_ = false;
    read_message();
  }
}

bool ws_session::may_read() const {
  return !waiting_alone_ && answers_.in_flight() < ctx_.cfg.max_inflight_requests;
}

void ws_session::end_personal_hold(const protocol::request* req) {
  if (!personal_held_) return;
  personal_held_ = false;
  bool recovers = req != nullptr && req->type == protocol::request_type::join &&
                  protocol::personal_room_user(req->room) == std::optional<std::string_view>(user_);
  if (!recovers) ctx_.rooms.release_personal(*this);
}

void ws_session::read_next() {
  // Past the bound the client is not read: backpressure, not an error.
  if (may_read()) read_message();
  else read_paused_ = true;
}


std::optional<std::string_view> ws_session::forbidden(const protocol::request& req) const {
  using protocol::request_type;
  auto personal = protocol::personal_room_user(req.room);
  switch (req.type) {
    case request_type::broadcast:
      if (!ctx_.cfg.client_broadcast) return "client broadcasts are switched off on this server";
      if (grants_ && !grants_->broadcast) return "the token does not allow broadcast";
      return std::nullopt;
    case request_type::direct:
      if (grants_ && !grants_->direct) return "the token does not allow direct messages";
      return std::nullopt;
    case request_type::join:
    case request_type::leave:
    case request_type::history:
      // One's own personal room whatever the claims; nobody else's ever.
      if (personal) {
        if (user_.empty() || *personal != user_) return "a personal room belongs to its user alone";
        return std::nullopt;
      }
      if (req.type != request_type::leave && grants_ && !grants_->rooms.matches(req.room))
        return "the token does not allow this room";
      return std::nullopt;
    case request_type::presence:
      if (grants_ && !grants_->rooms.matches(req.room)) return "the token does not allow this room";
      return std::nullopt;
    case request_type::room:
      // A message to user:U is a direct to U, allowed by the same claim.
      if (personal) {
        if (grants_ && !grants_->direct) return "the token does not allow direct messages";
        return std::nullopt;
      }
      if (grants_ && !grants_->publish.matches(req.room)) return "the token does not allow publishing to this room";
      return std::nullopt;
    case request_type::ping:
    case request_type::refresh:
      return std::nullopt;
  }
  return std::nullopt;
}

asio::awaitable<void> ws_session::serve(protocol::request req, answer_order::ticket t) {
  using protocol::request_type;
  using protocol::scope;
  switch (req.type) {
    case request_type::broadcast:
      co_await publish(t, scope::broadcast, req, {});
      break;
    case request_type::direct:
      if (req.user.empty()) co_await publish(t, scope::direct, req, req.to);
      else co_await publish(t, scope::user, req, req.user);
      break;
    case request_type::join:
      co_await join(t, req);
      break;
    case request_type::leave: {
      // One's own personal room: a member from before the welcome to the
      // close, whatever it asks.
      if (protocol::personal_room_user(req.room)) {
        if (req.ref) answer(t, protocol::ack_frame(*req.ref));
        break;
      }
      auto failed = co_await ctx_.rooms.leave(*this, req.room);
      if (failed) {
        answer_error(t, *failed, req.ref);
      } else if (req.ref) {
        answer(t, protocol::ack_frame(*req.ref));
      }
      break;
    }
    case request_type::history:
      co_await history(t, req);
      break;
    case request_type::room:
      if (auto user = protocol::personal_room_user(req.room)) co_await publish(t, scope::user, req, *user);
      else co_await publish(t, scope::room, req, req.room);
      break;
    case request_type::presence: {
      // Connections join their personal room without a word to Redis, so
      // there is no cluster-wide list of them to give.
      if (protocol::personal_room_user(req.room)) {
        answer_error(t, protocol::error_kind::bad_request, "a personal room has no presence list", req.ref);
        break;
      }
      auto members = co_await ctx_.rooms.members(req.room);
      if (members) {
        std::vector<std::string> ids;
        std::set<std::string> users;
        for (auto& member : *members) {
          ids.push_back(std::move(member.id));
          if (!member.user.empty()) users.insert(std::move(member.user));
        }
        std::optional<std::vector<std::string>> user_list;
        if (ctx_.admit.auth_enabled()) user_list.emplace(users.begin(), users.end());
        answer(t, protocol::presence_frame(req.room, ids, req.ref, user_list));
      } else {
        answer_error(t, protocol::error_kind::unavailable, req.ref);
      }
      break;
    }
    case request_type::refresh:
      co_await refresh(t, req);
      break;
    case request_type::ping:
      break;  // answered in on_message, never spawned
  }
}

asio::awaitable<void> ws_session::refresh(answer_order::ticket t, const protocol::request& req) {
  if (!ctx_.admit.auth_enabled()) {
    answer_error(t, protocol::error_kind::bad_request, "this server takes no tokens: connections are anonymous", req.ref);
    co_return;
  }
  auto verdict = ctx_.admit.verify(req.token, epoch_seconds());
  if (auto* refused = std::get_if<auth::refusal>(&verdict)) {
    metrics::add(ctx_.metrics.auth_failures[static_cast<std::size_t>(*refused)]);
    answer_error(t, protocol::error_kind::forbidden, "token refused: " + std::string(auth::to_string(*refused)), req.ref);
    co_return;
  }
  auto& who = std::get<identity>(verdict);
  if (who.user != user_) {
    metrics::add(ctx_.metrics.auth_failures[static_cast<std::size_t>(auth::refusal::bad_subject)]);
    answer_error(t, protocol::error_kind::forbidden, "the token is for another user", req.ref);
    co_return;
  }
  grants_ = std::move(who.grants);
  if (who.deadline) ctx_.expiries.schedule(*this, *who.deadline);
  else expiry_wheel::cancel(*this);
  // Out of the rooms the new token does not allow, at once; the client
  // hears of it once presence has followed cluster-wide.
  std::vector<std::string> revoked;
  for (const auto& room : ctx_.hub.rooms_of(*this))
    if (!grants_->rooms.matches(room)) revoked.push_back(room);
  if (!revoked.empty()) co_await ctx_.rooms.evict(*this, revoked);
  for (const auto& room : revoked) answer(t, protocol::left_frame(room, "forbidden"));
  if (req.ref) answer(t, protocol::ack_frame(*req.ref));
}

asio::awaitable<void> ws_session::join(answer_order::ticket t, const protocol::request& req) {
  auto joined = co_await ctx_.rooms.join(*this, req.room, req.events, req.since);
  if (joined.error) {
    answer_error(t, *joined.error, req.ref);
    co_return;
  }
  if (!joined.history) {
    if (req.ref) answer(t, protocol::ack_frame(*req.ref));
    co_return;
  }
  // The ack, then what was missed, then the live messages held meanwhile:
  // no await in between, so nothing can come between them. A join runs
  // only as the oldest request in flight, so its answers leave at once.
  auto& found = *joined.history;
  bool recovered = found.outcome == protocol::recovery_outcome::recovered;
  if (found.outcome) metrics::add(ctx_.metrics.recoveries[static_cast<std::size_t>(*found.outcome)]);
  if (req.ref) answer(t, protocol::join_ack_frame(req.ref, found.now, recovered));
  metrics::add(ctx_.metrics.history_replayed, found.frames.size());
  for (auto& frame : found.frames) answer(t, std::move(frame));
  ctx_.rooms.release(*this, req.room, found.now.offset);
}

asio::awaitable<void> ws_session::history(answer_order::ticket t, const protocol::request& req) {
  if (!ctx_.history.keeps(req.room)) {
    answer_error(t, protocol::error_kind::bad_request, "this room keeps no history", req.ref);
    co_return;
  }
  auto page = co_await ctx_.history.page(req.room, req.since, req.limit);
  if (page.ec) {
    answer_error(t, protocol::error_kind::unavailable, req.ref);
    co_return;
  }
  answer(t, protocol::history_frame(req.room, page.frames, page.now, req.ref));
}

asio::awaitable<void> ws_session::publish(answer_order::ticket t, protocol::scope scope,
                                          const protocol::request& req, std::string_view target) {
  auto published = co_await ctx_.messages.publish({scope, id_, target, req.data, user_});
  if (published.ec) {
    answer_error(t, protocol::error_kind::unavailable, req.ref);
  } else if (req.ref) {
    answer(t, protocol::ack_frame(*req.ref));
  }
}

void ws_session::answer_error(answer_order::ticket t, protocol::error_kind kind,
                              const std::optional<std::string>& ref) {
  answer_error(t, kind, describe(kind), ref);
}

void ws_session::answer_error(answer_order::ticket t, protocol::error_kind kind, std::string_view message,
                              const std::optional<std::string>& ref) {
  metrics::add(ctx_.metrics.errors[static_cast<std::size_t>(kind)]);
  answer(t, protocol::error_frame(kind, message, ref));
}

void ws_session::expire() {
  log::debug("session " + id_ + ": token expired");
  close(token_expired, "token expired");
}

void ws_session::idle_tick() {
  if (heard_ || ended_) {
    heard_ = false;
    pinged_ = false;
    return;
  }
  if (!pinged_) {
    pinged_ = true;
    ws_.async_ping({}, [self = shared_from_this()](error_code) {});
    return;
  }
  // Silent since the ping: gone without a FIN. The read side ends the session.
  log::debug("session " + id_ + ": no answer to a ping, dropping");
  error_code ignored;
  beast::get_lowest_layer(ws_).close(ignored);
}

void ws_session::end(const error_code& why) {
  if (!is_expected_close(why)) log::debug("session " + id_ + ": read: " + why.message());
  ended_ = true;
  expiry_wheel::cancel(*this);
  watched::unlink();
  metrics::sub(ctx_.metrics.connections_open);
  metrics::add(ctx_.metrics.closes[metrics::close_code_index(close_code_after(why))]);
  ctx_.rooms.leave_all(*this);
  ctx_.hub.remove(*this);
  metrics::sub(ctx_.metrics.queued_bytes, queue_.bytes());
  queue_.clear();
  if (closing_) closing_->deadline.cancel();
}

int ws_session::close_code_after(const error_code& why) const {
  if (closing_) return closing_->reason.code;
  if (why == websocket::error::closed) return ws_.reason().code;
  if (why == websocket::error::message_too_big) return websocket::close_code::too_big;
  if (why == websocket::error::bad_frame_payload) return websocket::close_code::bad_payload;
  return 1006;  // ended without a close frame
}

void ws_session::send(std::shared_ptr<const std::string> frame) {
  if (ended_ || closing_ || write_failed_) return;
  if (queue_.bytes() + frame->size() > ctx_.cfg.send_queue_bytes) {
    // Drop the backlog: it is what made the client too slow, and keeping it
    // would let one client hold memory the others need.
    metrics::sub(ctx_.metrics.queued_bytes, queue_.bytes());
    metrics::add(ctx_.metrics.slow_consumer_closes);
    log::debug("session " + id_ + ": slow consumer, closing");
    queue_.clear();
    begin_close(websocket::close_reason(websocket::close_code::policy_error, "slow consumer"));
    return;
  }
  metrics::add(ctx_.metrics.queued_bytes, frame->size());
  queue_.push(std::move(frame));
  mark_pending();
}

void ws_session::mark_pending() {
  if (marked_) return;
  marked_ = true;
  ctx_.writes.mark(shared_from_this());
}

void ws_session::close(websocket::close_code code, std::string_view reason) {
  if (ended_ || closing_) return;
  begin_close(websocket::close_reason(code, reason));
}

void ws_session::begin_close(websocket::close_reason reason) {
  closing_ = std::make_unique<closing_state>(std::move(reason), ws_.get_executor());
  closing_->deadline.expires_after(close_grace);
  closing_->deadline.async_wait([self = shared_from_this()](error_code ec) {
    if (ec) return;
    error_code ignored;
    beast::get_lowest_layer(self->ws_).close(ignored);
  });
  mark_pending();
}

void ws_session::write_pending() {
  marked_ = false;
  if (ended_ || write_failed_) return;
  auto& socket = ws_.next_layer();
  // A failed socket, or a close frame already on its way (the peer's close
  // answered by Beast): no frame may follow.
  if (socket.failed() || peer_closed_) {
    // The read side sees the same failure, or the close, and ends the session.
    write_failed_ = true;
    metrics::sub(ctx_.metrics.queued_bytes, queue_.bytes());
    queue_.clear();
    return;
  }
  if (!queue_.empty()) {
    if (!socket.has_room()) {
      // The client reads slowly: the queue holds the rest, under its bound.
      socket.when_room([weak = weak_from_this()] {
        if (auto self = weak.lock()) self->mark_pending();
      });
      return;
    }
    // No more than the socket has room for: the rest stays in the queue,
    // where the slow-consumer bound counts it.
    auto frames = queue_.take(coalescing_socket::max_frames_per_send, socket.room_bytes());
    std::size_t bytes = 0;
    for (const auto& frame : frames) bytes += frame->size();
    metrics::sub(ctx_.metrics.queued_bytes, bytes);
    metrics::add(ctx_.metrics.bytes_sent, bytes);
    metrics::add(ctx_.metrics.frames_sent, frames.size());
    socket.write_text_frames(std::move(frames));
    if (!queue_.empty()) return mark_pending();
  }
  // The close frame goes behind the last queued frame, in the same order.
  if (!closing_ || closing_->frame_started) return;
  closing_->frame_started = true;
  ws_.async_close(closing_->reason, [self = shared_from_this()](error_code ec) {
    if (ec && !is_expected_close(ec)) log::debug("session " + self->id_ + ": close: " + ec.message());
  });
}

}  // namespace switchboard
