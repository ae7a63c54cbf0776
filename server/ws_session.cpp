#include "server/ws_session.hpp"

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/protocol/client_id.hpp"
#include "common/protocol/envelope.hpp"
#include "common/protocol/frames.hpp"
#include "server/worker_context.hpp"

namespace switchboard {
namespace {

// How long a closing session may take to get its close frame out.
constexpr std::chrono::seconds close_grace{5};

// The human-readable half of an error frame for errors raised here.
std::string_view describe(protocol::error_kind kind) {
  switch (kind) {
    case protocol::error_kind::unavailable: return "the message broker cannot be reached; retry";
    case protocol::error_kind::too_many_rooms: return "this connection is in too many rooms";
    default: return "request refused";
  }
}

bool is_expected_close(const error_code& ec) {
  return ec == websocket::error::closed || ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == beast::error::timeout;
}

}  // namespace

ws_session::ws_session(tcp::socket socket, worker_context& ctx)
    : ws_(std::move(socket)), ctx_(ctx), writer_wake_(ws_.get_executor()), close_deadline_(ws_.get_executor()) {
  ++ctx_.sessions;
}

ws_session::~ws_session() { --ctx_.sessions; }

void ws_session::start(http::request<http::string_body> request) {
  asio::co_spawn(ws_.get_executor(), run(std::move(request)), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error(std::string("session failed: ") + ex.what());
    }
  });
}

asio::awaitable<void> ws_session::run(http::request<http::string_body> request) {
  auto self = shared_from_this();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = ctx_.cfg.handshake_timeout;
  // Peers that vanish without a FIN are found by pings: Beast pings after
  // half of this with no traffic and drops the peer after the whole of it.
  timeouts.idle_timeout = ctx_.cfg.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.read_message_max(ctx_.cfg.max_message_bytes);
  // One frame per message: a server does not mask, so splitting gains nothing.
  ws_.auto_fragment(false);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "switchboard"); }));

  auto [ec] = co_await ws_.async_accept(request, use_nothrow);
  // The upgrade request's headers would otherwise live as long as the session.
  request = {};
  if (ec) co_return;

  id_ = ctx_.ids.next();
  metrics::add(ctx_.metrics.connections_accepted);
  metrics::add(ctx_.metrics.connections_open);
  ctx_.hub.add(*this);
  send(protocol::welcome_frame(id_, ctx_.cfg.node, ctx_.index));
  // Upgraded while the worker stops: it still gets a proper goodbye.
  if (ctx_.stopping) close(websocket::close_code::going_away, "server shutting down");
  asio::co_spawn(ws_.get_executor(), write_loop(), [self](std::exception_ptr e) {
    if (e) log::error("session writer failed");
  });

  error_code why = co_await read_loop();

  ended_ = true;
  metrics::sub(ctx_.metrics.connections_open);
  metrics::add(ctx_.metrics.closes[metrics::close_code_index(close_code_after(why))]);
  ctx_.rooms.leave_all(id_, rooms_, *this);
  rooms_.clear();
  ctx_.hub.remove(*this);
  metrics::sub(ctx_.metrics.queued_bytes, queue_.bytes());
  queue_.clear();
  writer_wake_.cancel();
  close_deadline_.cancel();
}

int ws_session::close_code_after(const error_code& why) const {
  if (closing_) return closing_->code;
  if (why == websocket::error::closed) return ws_.reason().code;
  if (why == websocket::error::message_too_big) return websocket::close_code::too_big;
  if (why == websocket::error::bad_frame_payload) return websocket::close_code::bad_payload;
  return 1006;  // ended without a close frame
}

asio::awaitable<error_code> ws_session::read_loop() {
  for (;;) {
    auto [ec, n] = co_await ws_.async_read(buffer_, use_nothrow);
    if (ec) {
      if (!is_expected_close(ec)) log::debug("session " + id_ + ": read: " + ec.message());
      co_return ec;
    }
    metrics::add(ctx_.metrics.bytes_received, n);
    if (ws_.got_binary()) {
      answer_error(protocol::error_kind::unsupported, "binary frames are not supported", std::nullopt);
    } else {
      auto data = buffer_.cdata();
      co_await handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    // Give back what a large message made the buffer grow to.
    if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
  }
}

asio::awaitable<void> ws_session::handle(std::string_view text) {
  auto parsed = protocol::parse_request(text);
  if (auto* err = std::get_if<protocol::request_error>(&parsed)) {
    metrics::add(ctx_.metrics.received[metrics::request_types.size() - 1]);
    answer_error(err->kind, err->message, err->ref);
    co_return;
  }
  auto& req = std::get<protocol::request>(parsed);
  metrics::add(ctx_.metrics.received[static_cast<std::size_t>(req.type)]);
  using protocol::request_type;
  using protocol::scope;
  switch (req.type) {
    case request_type::ping:
      send(protocol::pong_frame(req.ref));
      break;
    case request_type::broadcast: {
      auto frame = protocol::message_frame(scope::broadcast, id_, {}, req.data);
      co_await publish(ctx_.keys.broadcast_channel(), protocol::encode_envelope(scope::broadcast, {}, frame), req.ref);
      break;
    }
    case request_type::direct: {
      auto owner = protocol::worker_key_of(req.to);
      if (!owner) {
        // No worker hands out such an id: no such client is connected.
        if (req.ref) send(protocol::ack_frame(*req.ref));
        break;
      }
      auto frame = protocol::message_frame(scope::direct, id_, req.to, req.data);
      co_await publish(ctx_.keys.direct_channel(*owner), protocol::encode_envelope(scope::direct, req.to, frame),
                       req.ref);
      break;
    }
    case request_type::join:
    case request_type::leave: {
      auto failed = req.type == request_type::join ? co_await ctx_.rooms.join(*this, req.room)
                                                   : co_await ctx_.rooms.leave(*this, req.room);
      if (failed) {
        answer_error(*failed, describe(*failed), req.ref);
      } else if (req.ref) {
        send(protocol::ack_frame(*req.ref));
      }
      break;
    }
    case request_type::room: {
      auto frame = protocol::message_frame(scope::room, id_, req.room, req.data);
      co_await publish(ctx_.keys.room_channel(req.room), protocol::encode_envelope(scope::room, req.room, frame),
                       req.ref);
      break;
    }
    case request_type::presence: {
      auto members = co_await ctx_.rooms.members(req.room);
      if (members) {
        send(protocol::presence_frame(req.room, *members, req.ref));
      } else {
        answer_error(protocol::error_kind::unavailable, describe(protocol::error_kind::unavailable), req.ref);
      }
      break;
    }
  }
}

asio::awaitable<void> ws_session::publish(const std::string& channel, std::string envelope,
                                          const std::optional<std::string>& ref) {
  error_code ec = co_await ctx_.bus.publish(channel, envelope);
  if (ec) {
    answer_error(protocol::error_kind::unavailable, describe(protocol::error_kind::unavailable), ref);
  } else if (ref) {
    send(protocol::ack_frame(*ref));
  }
}

void ws_session::answer_error(protocol::error_kind kind, std::string_view message,
                              const std::optional<std::string>& ref) {
  metrics::add(ctx_.metrics.errors[static_cast<std::size_t>(kind)]);
  send(protocol::error_frame(kind, message, ref));
}

void ws_session::send(std::shared_ptr<const std::string> frame) {
  if (ended_ || closing_) return;
  if (queue_.bytes() + frame->size() > ctx_.cfg.send_queue_bytes) {
    // Drop the backlog: it is what made the client too slow, and keeping it
    // would let one client hold memory the others need.
    metrics::sub(ctx_.metrics.queued_bytes, queue_.bytes());
    metrics::add(ctx_.metrics.slow_consumer_closes);
    log::debug("session " + id_ + ": slow consumer, closing");
    queue_.clear();
    closing_ = websocket::close_reason(websocket::close_code::policy_error, "slow consumer");
    force_close_after(close_grace);
    writer_wake_.cancel();
    return;
  }
  metrics::add(ctx_.metrics.queued_bytes, frame->size());
  queue_.push(std::move(frame));
  writer_wake_.cancel();
}

void ws_session::close(websocket::close_code code, std::string_view reason) {
  if (ended_ || closing_) return;
  closing_ = websocket::close_reason(code, reason);
  force_close_after(close_grace);
  writer_wake_.cancel();
}

void ws_session::force_close_after(std::chrono::seconds grace) {
  close_deadline_.expires_after(grace);
  close_deadline_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec) return;
    error_code ignored;
    beast::get_lowest_layer(self->ws_).close(ignored);
  });
}

asio::awaitable<void> ws_session::write_loop() {
  // Invariant: at most one async_write in flight (Beast requires it), and it
  // is this loop's.
  while (!ended_) {
    if (queue_.empty()) {
      if (closing_) break;
      writer_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_wake_.async_wait(use_nothrow);
      continue;
    }
    auto frame = queue_.pop();
    metrics::sub(ctx_.metrics.queued_bytes, frame->size());
    auto [ec, n] = co_await ws_.async_write(asio::buffer(*frame), use_nothrow);
    if (ec) co_return;
    metrics::add(ctx_.metrics.bytes_sent, n);
  }
  if (closing_ && !ended_) {
    auto [ec] = co_await ws_.async_close(*closing_, use_nothrow);
    if (ec && !is_expected_close(ec)) log::debug("session " + id_ + ": close: " + ec.message());
  }
}

}  // namespace switchboard
