#include "server/net/coalescing_socket.hpp"

namespace switchboard {

coalescing_socket::state::state(tcp::socket s, const executor_type& ex, send_ring* r) : socket(ex), ring(r) {
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

bool coalescing_socket::state::gathered(const std::shared_ptr<state>& self) {
  if (!self->corked || self->pending.size() >= held_bytes_limit) flush(self);
  return self->pending.size() + self->sending.size() <= held_bytes_limit;
}

void coalescing_socket::state::after_sent(const std::shared_ptr<state>& self, once_callback<> next) {
  if (self->failed || (!self->in_flight && self->pending.empty())) {
    next();
    return;
  }
  self->drained = std::move(next);
  self->corked = false;
  flush(self);
}

void coalescing_socket::state::flush(const std::shared_ptr<state>& self) {
  if (self->in_flight || self->pending.empty() || self->failed) return;
  self->in_flight = true;
  self->sending.swap(self->pending);
  asio::async_write(self->socket, asio::buffer(self->sending),
                    [self](error_code ec, std::size_t) { on_sent(self, ec); });
}

void coalescing_socket::state::fail(const std::shared_ptr<state>& self, error_code ec) {
  if (self->failed) return;
  self->failed = ec;
  self->pending.clear();
  // The pending read ends too, and with it the session.
  error_code ignored;
  self->socket.close(ignored);
}

void coalescing_socket::state::on_sent(const std::shared_ptr<state>& self, error_code ec) {
  self->in_flight = false;
  // An idle connection keeps no buffer.
  std::string().swap(self->sending);
  if (ec) fail(self, ec);
  if (!self->corked || self->held || self->drained || self->pending.size() >= held_bytes_limit) flush(self);
  if (self->held && (self->failed || self->pending.size() + self->sending.size() <= held_bytes_limit)) {
    asio::post(self->socket.get_executor(),
               [held = std::move(self->held), ec = self->failed, n = self->failed ? 0 : self->held_size]() mutable {
                 held(ec, n);
               });
  }
  if (self->drained && !self->in_flight) {
    auto next = std::move(self->drained);
    next();
  }
}

}  // namespace switchboard
