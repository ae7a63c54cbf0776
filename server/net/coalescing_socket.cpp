#include "server/net/coalescing_socket.hpp"

#include <sys/socket.h>

#include <array>

namespace switchboard {

// A run of text frames on its way to the kernel: the payloads, kept alive
// until then, the headers framed here, and the buffers naming both.
class coalescing_socket::frame_run final : public send_ring::operation {
 public:
  frame_run(std::shared_ptr<state> st, std::vector<frame_ptr> frames) : st_(std::move(st)), frames_(std::move(frames)) {
    parts_.reserve(frames_.size() * 2);
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      auto& header = headers_[i];
      const std::size_t size = frames_[i]->size();
      std::size_t used = 2;
      header[0] = static_cast<char>(0x81);  // FIN, text
      if (size < 126) {
        header[1] = static_cast<char>(size);
      } else if (size <= 0xffff) {
        header[1] = 126;
        for (std::size_t b = 0; b < 2; ++b) header[2 + b] = static_cast<char>(size >> (8 * (1 - b)));
        used = 4;
      } else {
        header[1] = 127;
        for (std::size_t b = 0; b < 8; ++b) header[2 + b] = static_cast<char>(size >> (8 * (7 - b)));
        used = 10;
      }
      parts_.push_back({header.data(), used});
      parts_.push_back({const_cast<char*>(frames_[i]->data()), size});
    }
    message.msg_iov = parts_.data();
    message.msg_iovlen = parts_.size();
  }

  // `result`: bytes the kernel took, or -errno.
  void complete(int result) override {
    st_->in_flight = false;
    if (result < 0 && result != -EAGAIN) {
      state::fail(st_, error_code(-result, asio::error::get_system_category()));
      return;
    }
    keep_unsent(result < 0 ? 0 : static_cast<std::size_t>(result));
  }

  // Gathers what follows the first `taken` bytes, to go out behind them.
  void keep_unsent(std::size_t taken) {
    for (const auto& part : parts_) {
      if (taken >= part.iov_len) {
        taken -= part.iov_len;
        continue;
      }
      st_->pending.append(static_cast<const char*>(part.iov_base) + taken, part.iov_len - taken);
      taken = 0;
    }
    state::flush(st_);
  }

 private:
  std::shared_ptr<state> st_;
  std::vector<frame_ptr> frames_;
  std::array<std::array<char, 10>, max_frames_per_send> headers_;
  std::vector<iovec> parts_;
};

coalescing_socket::state::state(tcp::socket s, const executor_type& ex, send_ring* r, metrics::value* counted)
    : socket(ex), ring(r), sends(counted) {
  // A descriptor that fails here leaves `socket` closed: the handshake then
  // fails and the session ends.
  error_code ec;
  auto protocol = s.local_endpoint(ec).protocol();
  if (!ec) {
    auto fd = s.release(ec);
    if (!ec) socket.assign(protocol, fd, ec);
  }
  // Non-blocking, for the direct send that writes try first.
  if (!ec) socket.non_blocking(true, ec);
}

void coalescing_socket::write_text_frames(std::vector<frame_ptr> frames) {
  auto& st = state_;
  if (st->failed || st->torn_down || frames.empty()) return;
  auto run = std::make_unique<frame_run>(st, std::move(frames));
  if (st->in_flight || !st->pending.empty()) {
    // Behind bytes still unsent: gathered whole.
    run->keep_unsent(0);
    return;
  }
  st->in_flight = true;
  state::count_send(*st);
  if (st->ring && st->ring->batching()) {
    st->ring->send(st->socket.native_handle(), std::move(run));
    return;
  }
  ssize_t sent = ::sendmsg(st->socket.native_handle(), &run->message, MSG_NOSIGNAL | MSG_DONTWAIT);
  run->complete(sent < 0 ? -errno : static_cast<int>(sent));
}

bool coalescing_socket::take_pong() {
  auto& st = *state_;
  if (static_cast<unsigned char>(st.peeked) != 0x8a) return false;  // FIN, pong
  std::array<unsigned char, inbound_frames::max_header_bytes + 125> head;
  const int fd = st.socket.native_handle();
  const ssize_t n = ::recv(fd, head.data(), head.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return false;
  const std::size_t size = inbound_frames::whole_pong(head.data(), static_cast<std::size_t>(n));
  if (size == 0) return false;
  // The bytes are there (peeked): this takes all of them.
  return ::recv(fd, head.data(), size, MSG_DONTWAIT) == static_cast<ssize_t>(size);
}

bool coalescing_socket::has_room() const noexcept { return state_->room_left(); }

std::size_t coalescing_socket::room_bytes() const noexcept {
  if (state_->failed) return held_bytes_limit;  // whatever comes is dropped
  const std::size_t unsent = state_->pending.size() + state_->sending.size();
  return unsent >= held_bytes_limit ? 0 : held_bytes_limit - unsent;
}

bool coalescing_socket::state::gathered(const std::shared_ptr<state>& self) {
  flush(self);
  return self->pending.size() + self->sending.size() <= held_bytes_limit;
}

void coalescing_socket::state::after_sent(const std::shared_ptr<state>& self, once_callback<> next) {
  if (self->failed || (!self->in_flight && self->pending.empty())) {
    next();
    return;
  }
  self->drained = std::move(next);
  flush(self);
}

void coalescing_socket::state::flush(const std::shared_ptr<state>& self) {
  if (self->in_flight) return;
  if (self->pending.empty() || self->failed) return settle(self);
  self->in_flight = true;
  count_send(*self);
  self->sending.swap(self->pending);
  asio::async_write(self->socket, asio::buffer(self->sending),
                    [self](error_code ec, std::size_t) { on_sent(self, ec); });
}

void coalescing_socket::state::settle(const std::shared_ptr<state>& self) {
  if (self->room && self->room_left()) {
    auto next = std::move(self->room);
    next();
  }
  if (self->drained && !self->in_flight && (self->failed || self->pending.empty())) {
    auto next = std::move(self->drained);
    next();
  }
}

void coalescing_socket::state::fail(const std::shared_ptr<state>& self, error_code ec) {
  if (self->failed) return;
  self->failed = ec;
  self->pending.clear();
  // The pending read ends too, and with it the session.
  error_code ignored;
  self->socket.close(ignored);
  settle(self);
}

void coalescing_socket::state::on_sent(const std::shared_ptr<state>& self, error_code ec) {
  self->in_flight = false;
  // An idle connection keeps no buffer.
  std::string().swap(self->sending);
  if (ec) fail(self, ec);
  flush(self);
  if (self->held && (self->failed || self->pending.size() + self->sending.size() <= held_bytes_limit)) {
    asio::post(self->socket.get_executor(),
               [held = std::move(self->held), ec = self->failed, n = self->failed ? 0 : self->held_size]() mutable {
                 held(ec, n);
               });
  }
  settle(self);
}

}  // namespace switchboard
