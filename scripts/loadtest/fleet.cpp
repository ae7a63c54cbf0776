#include "scripts/loadtest/fleet.hpp"

#include <algorithm>

#include "scripts/loadtest/wait_group.hpp"

namespace switchboard::load {
namespace {

// Beast masks what a client sends through a buffer of this size, one per
// connection: small for the many that only receive, bigger with --payload.
std::size_t write_buffer_for(std::size_t payload) { return std::clamp<std::size_t>(payload + 256, 512, 16384); }

}  // namespace

fleet::fleet(run_state& rs) : rs_(rs), write_buffer_(write_buffer_for(rs.opt.payload)) {}

std::size_t fleet::open_count() const {
  return static_cast<std::size_t>(std::count_if(peers_.begin(), peers_.end(), [](const peer& p) { return p.open; }));
}

asio::awaitable<void> fleet::connect(std::size_t count, setup_fn setup, bool time_handshakes) {
  for (std::size_t i = 0; i < count; ++i) peers_.emplace_back(rs_.ioc, write_buffer_);
  if (rs_.tokens.mints()) {
    tokens_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) tokens_.push_back(rs_.token_for(i));
  }
  wait_group loops(rs_.ioc.get_executor());
  const std::size_t concurrency = std::min(count, rs_.opt.connect_concurrency);
  for (std::size_t i = 0; i < concurrency; ++i) loops.spawn(connect_loop(count, setup, time_handshakes));
  co_await loops.wait();
  tokens_ = {};  // what a failed connection left
}

asio::awaitable<void> fleet::connect_loop(std::size_t count, const setup_fn& setup, bool time_handshakes) {
  const auto& sources = rs_.to.sources;
  const nanos timeout = static_cast<nanos>(rs_.opt.connect_timeout * 1e9);
  auto& s = rs_.total;
  while (next_ < count && !rs_.stopping) {
    const std::size_t index = next_++;
    peer& p = peers_[index];
    const auto source = sources.empty() ? asio::ip::address() : sources[index % sources.size()];
    std::string token = tokens_.empty() ? rs_.token_for(index) : std::move(tokens_[index]);
    const nanos begin = now_ns();
    if (s.connect_begin == 0) s.connect_begin = begin;
    ++s.c.attempts;
    auto failure = co_await p.conn.open(rs_.to, source, timeout, std::move(token));
    if (!failure.empty()) {
      if (!rs_.stopping) {
        ++s.c.connect_failed;
        bump(s.failures, failure);
      }
      continue;
    }
    const nanos end = now_ns();
    ++s.c.opened;
    s.connect_end = end;
    if (time_handshakes) {
      // Handshakes happen before go, outside any window: all of them count.
      rs_.interval.record(end - begin);
      s.latency.record(end - begin);
    }
    if (setup) {
      const bool set_up = co_await setup(p, index);
      if (!set_up) {
        p.conn.abort();
        continue;
      }
    }
    p.open = true;
    spawn(rs_.ioc.get_executor(), read_loop(p), "client read loop");
  }
}

publisher& fleet::add_publisher(peer& via, std::size_t index, std::span<const send_target> targets) {
  return publishers_.emplace_back(via, rs_, index, targets);
}

asio::awaitable<void> fleet::run_publishers() {
  wait_group senders(rs_.ioc.get_executor());
  for (auto& pub : publishers_) senders.spawn(pub.run());
  co_await senders.wait();
}

void fleet::abort_all() {
  for (auto& pub : publishers_) pub.wake();
  for (auto& p : peers_) {
    if (p.open) p.conn.abort();
  }
}

asio::awaitable<void> fleet::read_loop(peer& p) {
  for (;;) {
    auto [ec, frame] = co_await p.conn.read();
    // After stop the counts are final, and the senders' targets may be gone.
    if (ec || rs_.stopping) break;
    on_frame(p, frame);
  }
  p.open = false;
  if (!rs_.stopping) {
    ++rs_.total.c.lost;
    ++rs_.total.close_codes[p.conn.close_code()];
  }
}

void fleet::on_frame(peer& p, std::string_view frame) {
  auto& s = rs_.total;
  switch (classify(frame)) {
    case frame_kind::message:
      on_delivery(p, frame);
      break;
    case frame_kind::ack:
      if (p.sender != nullptr) {
        if (auto ref = scan_int(frame, "\"ref\":")) p.sender->on_answer(*ref, true);
      }
      break;
    case frame_kind::error: {
      ++s.c.errors;
      bump(s.errors, scan_string(frame, "\"code\":\"").value_or("unknown"));
      if (p.sender != nullptr) {
        if (auto ref = scan_int(frame, "\"ref\":")) p.sender->on_answer(*ref, false);
      }
      break;
    }
    case frame_kind::pong:
      ++s.c.acked;  // the end of a hold (connect)
      break;
    default:
      break;  // presence: nobody here asked
  }
}

void fleet::on_delivery(peer& p, std::string_view frame) {
  auto& c = rs_.total.c;
  auto st = scan_stamp(frame);
  if (!st || !p.role.accepts(*st)) {
    ++c.unexpected;
    return;
  }
  // Per-sender order (PROTOCOL.md guarantees it): one slot per sender, or
  // the only one for a connection with a single sender.
  const auto slot = p.role.k == receive_role::kind::sender ? 0 : static_cast<std::size_t>(st->p);
  if (st->p < 0 || slot >= p.last_seq.size()) {
    ++c.unexpected;
    return;
  }
  auto& last = p.last_seq[slot];
  if (st->s <= last) {
    ++c.out_of_order;
  } else {
    last = static_cast<std::uint32_t>(st->s);
  }
  ++c.delivered;
  const nanos now = now_ns();
  if (rs_.in_window(st->t)) ++c.window_delivered;
  if (rs_.in_window(now)) ++c.window_arrived;
  rs_.record_latency(st->t, now);
}

}  // namespace switchboard::load
