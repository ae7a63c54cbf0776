#pragma once
// The TCP socket under a session's WebSocket stream, with writes gathered.
//
// The session hands it its text frames in runs (write_text_frames): all
// frames a client has pending when the worker's turn ends, each framed here
// (RFC 6455, a server's unmasked frames) and sent together in one sendmsg,
// header and payload in place. Beast's own writes (handshake, pong, ping,
// close) go through async_write_some, each whole, in the same byte order. A
// write that finds nothing ahead of it goes straight to the kernel; what the
// kernel does not take is copied into an outbound buffer that goes out when
// the socket is writable, and later writes queue behind it.
//
// While the worker's send_ring batches, the send that would go straight to
// the kernel is queued on the ring instead and reaches the kernel with the
// batch's other sends in one system call.
//
// Reads are Beast's, counted frame by frame (inbound_frames), so that a
// session can tell when Beast holds none of the client's bytes and wait for
// readability instead of keeping a read pending (ws_session).
//
// Past `held_bytes_limit` of unsent bytes Beast's writes do not complete
// until the kernel has taken some, and has_room() is false, so a client that
// stops reading backs up into the session's own queue, where the
// slow-consumer bound applies.

#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "server/net/inbound_frames.hpp"
#include "server/net/send_ring.hpp"

namespace switchboard {

class coalescing_socket {
 public:
  // The io_context's own executor rather than the polymorphic
  // any_io_executor: every operation Beast and Asio keep per connection
  // carries copies of it, so this saves memory per idle client and a
  // virtual call per operation.
  using executor_type = asio::io_context::executor_type;
  using socket_type = asio::basic_stream_socket<tcp, executor_type>;
  using next_layer_type = socket_type;
  using lowest_layer_type = socket_type::lowest_layer_type;

  // Unsent bytes beyond which a write waits for the kernel.
  static constexpr std::size_t held_bytes_limit = 64 * 1024;

  using frame_ptr = std::shared_ptr<const std::string>;

  // Frames in one run at most: a header and a payload each, well inside the
  // kernel's limit of 1,024 buffers per sendmsg.
  static constexpr std::size_t max_frames_per_send = 256;

  // Takes over `socket`'s descriptor; `ex` must be its io_context's. With a
  // `ring`, writes made while it batches go to the kernel with the batch.
  // `sends`, when given, counts the sends that carry bytes to the kernel.
  coalescing_socket(tcp::socket socket, const executor_type& ex, send_ring* ring = nullptr,
                    metrics::value* sends = nullptr)
      : state_(std::make_shared<state>(std::move(socket), ex, ring, sends)) {}

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  socket_type& next_layer() noexcept { return state_->socket; }
  lowest_layer_type& lowest_layer() noexcept { return state_->socket.lowest_layer(); }

  // Sends `frames` (at most max_frames_per_send), each as one WebSocket
  // text frame, in one send behind everything written before. Dropped once
  // the socket failed or is torn down.
  void write_text_frames(std::vector<frame_ptr> frames);
  // Unsent bytes are below held_bytes_limit (or the socket failed: writes
  // are dropped at once).
  bool has_room() const noexcept;
  // How many more bytes may be handed over before has_room() turns false.
  std::size_t room_bytes() const noexcept;
  // Calls `next` once has_room() holds again; one waiter at a time.
  template <class F>
  void when_room(F next) {
    state_->room = once_callback<>(std::move(next));
  }
  bool failed() const noexcept { return bool(state_->failed); }

  // Beast's reads. The handler it gives keeps the stream, and so this
  // state, alive until it completes: a plain pointer does. The wrapper has
  // no associated allocator, so Asio recycles the read's memory as it does
  // for Beast's own handler.
  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return asio::async_initiate<ReadToken, void(error_code, std::size_t)>(
        [](auto handler, state* st, const MutableBufferSequence& buffers) {
          st->socket.async_read_some(
              buffers, [st, buffers, handler = std::move(handler)](error_code ec, std::size_t n) mutable {
                for (auto b : beast::buffers_prefix(n, buffers))
                  st->inbound.feed(static_cast<const char*>(b.data()), b.size());
                std::move(handler)(ec, n);
              });
        },
        token, state_.get(), buffers);
  }

  // Whether Beast may hold bytes of the client's it has not handed over
  // yet, when the session has taken `messages_taken` messages.
  bool may_hold_unread(std::uint64_t messages_taken) const noexcept {
    return !state_->inbound.at_message_end() || state_->inbound.messages_ended() != messages_taken;
  }
  // Calls `handler(ec, n)` once the socket has bytes to read, its end, or an
  // error; takes none of them. Waits on Asio's reactor like a read does, so
  // bytes that came before the wait are seen.
  template <class Handler>
  void async_wait_readable(Handler&& handler) {
    state_->socket.async_receive(asio::buffer(&state_->peeked, 1), asio::socket_base::message_peek,
                                 std::forward<Handler>(handler));
  }
  // After async_wait_readable: reads one whole pong frame from the front of
  // what the socket holds, if that is what it holds, and says so. Only
  // while Beast holds nothing (!may_hold_unread): Beast never sees it.
  bool take_pong();

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return asio::async_initiate<WriteToken, void(error_code, std::size_t)>(
        [](auto handler, const std::shared_ptr<state>& st, const ConstBufferSequence& buffers) {
          if (st->failed) {
            asio::post(st->socket.get_executor(), asio::append(std::move(handler), st->failed, std::size_t{0}));
            return;
          }
          const std::size_t n = asio::buffer_size(buffers);
          beast::buffers_suffix<ConstBufferSequence> rest(buffers);
          error_code ec;
          if (!st->in_flight && st->pending.empty()) {
            // Nothing ahead of these bytes: in a fan-out, join the batch
            // that goes to the kernel in one call; otherwise send at once.
            // Either way only what the kernel does not take is copied.
            using batched_write = ring_write<ConstBufferSequence, decltype(handler)>;
            if (st->ring && st->ring->batching() && batched_write::fits(buffers)) {
              st->in_flight = true;
              state::count_send(*st);
              st->ring->send(st->socket.native_handle(),
                             std::make_unique<batched_write>(st, buffers, std::move(handler), n));
              return;
            }
            state::count_send(*st);
            rest.consume(st->socket.send(buffers, 0, ec));
          }
          finish_write(st, ec, rest, std::move(handler), n);
        },
        token, state_, buffers);
  }

  // Beast tears the connection down after the close handshake; the bytes
  // still gathered (the close frame among them) go out first.
  template <class TeardownHandler>
  friend void async_teardown(beast::role_type role, coalescing_socket& socket, TeardownHandler&& handler) {
    auto st = socket.state_;
    st->torn_down = true;
    state::after_sent(st, once_callback<>([st, role, handler = std::forward<TeardownHandler>(handler)]() mutable {
      beast::websocket::async_teardown(role, st->socket, std::move(handler));
    }));
  }

 private:
  // A move-only callable called at most once. (Asio 1.81's
  // any_completion_handler recurses forever when assigned.)
  template <class... Args>
  class once_callback {
   public:
    once_callback() = default;
    template <class F>
    explicit once_callback(F f) : impl_(std::make_unique<model<F>>(std::move(f))) {}
    explicit operator bool() const noexcept { return impl_ != nullptr; }
    void operator()(Args... args) {
      auto impl = std::move(impl_);
      impl->call(args...);
    }

   private:
    struct callable {
      virtual ~callable() = default;
      virtual void call(Args... args) = 0;
    };
    template <class F>
    struct model final : callable {
      explicit model(F fn) : f(std::move(fn)) {}
      void call(Args... args) override { std::move(f)(args...); }
      F f;
    };
    std::unique_ptr<callable> impl_;
  };

  struct state {
    state(tcp::socket s, const executor_type& ex, send_ring* r, metrics::value* sends);

    // After bytes were appended to `pending`: sends them when nothing is in
    // flight. True when the write may complete now, false when it must wait
    // until the kernel has taken enough.
    static bool gathered(const std::shared_ptr<state>& self);
    // Runs `next` once everything gathered has been handed to the kernel.
    static void after_sent(const std::shared_ptr<state>& self, once_callback<> next);
    static void flush(const std::shared_ptr<state>& self);
    // Once nothing is in flight: calls whoever waits for room, or for the
    // last bytes to be handed over.
    static void settle(const std::shared_ptr<state>& self);
    // Every later write fails with `ec`; the pending read ends too.
    static void fail(const std::shared_ptr<state>& self, error_code ec);
    static void on_sent(const std::shared_ptr<state>& self, error_code ec);
    // One more send that carries bytes to the kernel.
    static void count_send(const state& self) {
      if (self.sends) metrics::add(*self.sends);
    }
    bool room_left() const noexcept { return failed || pending.size() + sending.size() < held_bytes_limit; }

    socket_type socket;
    send_ring* const ring;
    metrics::value* const sends;
    std::string pending;  // gathered, not yet handed to the kernel
    std::string sending;  // the bytes of the one send in flight
    error_code failed;    // a send failed: every later write fails with this
    inbound_frames inbound;  // what Beast has read
    char peeked = 0;         // async_wait_readable's first byte
    bool in_flight = false;  // a send (batched or not) has the socket's bytes
    bool torn_down = false;  // the close handshake is over: no more frames
    once_callback<error_code, std::size_t> held;  // a write waiting for the kernel
    std::size_t held_size = 0;                    // what `held` wrote
    once_callback<> drained;                      // waits for the last bytes
    once_callback<> room;                         // waits for has_room()
  };

  class frame_run;

  // The end of a write once the kernel has taken what it would (`rest` is the
  // remainder): the rest is gathered, and the write completes or waits.
  template <class ConstBufferSequence, class Handler>
  static void finish_write(const std::shared_ptr<state>& st, error_code ec,
                           beast::buffers_suffix<ConstBufferSequence>& rest, Handler&& handler, std::size_t n) {
    auto ex = st->socket.get_executor();
    if (ec && ec != asio::error::would_block) {
      state::fail(st, ec);
      asio::post(ex, asio::append(std::forward<Handler>(handler), ec, std::size_t{0}));
      return;
    }
    for (auto b : beast::buffers_range_ref(rest)) st->pending.append(static_cast<const char*>(b.data()), b.size());
    if (state::gathered(st)) {
      asio::post(ex, asio::append(std::forward<Handler>(handler), error_code{}, n));
    } else {
      st->held = once_callback<error_code, std::size_t>(std::forward<Handler>(handler));
      st->held_size = n;
    }
  }

  // A write in a send_ring batch: the caller's buffers, sent in place.
  template <class ConstBufferSequence, class Handler>
  class ring_write final : public send_ring::operation {
   public:
    // Frames are a header and a payload; longer sequences are sent directly.
    static constexpr std::size_t max_buffers = 8;
    static bool fits(const ConstBufferSequence& buffers) {
      std::size_t count = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
        if (++count > max_buffers) return false;
      return true;
    }

    ring_write(std::shared_ptr<state> st, const ConstBufferSequence& buffers, Handler handler, std::size_t n)
        : st_(std::move(st)), buffers_(buffers), handler_(std::move(handler)), n_(n) {
      std::size_t count = 0;
      for (auto it = asio::buffer_sequence_begin(buffers_); it != asio::buffer_sequence_end(buffers_); ++it) {
        asio::const_buffer b = *it;
        iov_[count++] = {const_cast<void*>(b.data()), b.size()};
      }
      message.msg_iov = iov_.data();
      message.msg_iovlen = count;
    }

    void complete(int result) override {
      st_->in_flight = false;
      beast::buffers_suffix<ConstBufferSequence> rest(buffers_);
      error_code ec;
      if (result >= 0) {
        rest.consume(static_cast<std::size_t>(result));
      } else if (result != -EAGAIN) {
        ec = error_code(-result, asio::error::get_system_category());
      }
      finish_write(st_, ec, rest, std::move(handler_), n_);
    }

   private:
    std::shared_ptr<state> st_;
    ConstBufferSequence buffers_;
    Handler handler_;
    std::size_t n_;
    std::array<iovec, max_buffers> iov_;
  };

  // Shared with the send in flight, which may outlive the stream.
  std::shared_ptr<state> state_;
};

}  // namespace switchboard
