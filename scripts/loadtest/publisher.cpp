#include "scripts/loadtest/publisher.hpp"

#include <charconv>
#include <cmath>

namespace switchboard::load {
namespace {

void append_number(std::string& out, std::int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

}  // namespace

publisher::publisher(peer& via, run_state& rs, std::size_t index, std::span<const send_target> targets)
    : via_(via), rs_(rs), index_(index), targets_(targets), padding_(rs.opt.payload, 'x'),
      timer_(via.conn.executor()) {
  via_.sender = this;
}

asio::awaitable<void> publisher::run() {
  if (now_ns() < rs_.start) {
    timer_.expires_at(to_time_point(rs_.start));
    co_await timer_.async_wait(use_nothrow);
  }
  if (rs_.opt.closed_loop()) {
    co_await run_closed_loop();
  } else {
    co_await run_open_loop();
  }
}

asio::awaitable<void> publisher::run_open_loop() {
  // Senders share the rate evenly and are staggered so that together they
  // send one request every 1/rate seconds.
  const double step = 1e9 / rs_.opt.rate;
  const double interval = step * static_cast<double>(rs_.whole.total_senders);
  const double offset = step * static_cast<double>(index_);
  for (std::uint64_t k = 0; !rs_.stopping; ++k) {
    const nanos t = rs_.start + std::llround(offset + static_cast<double>(k) * interval);
    if (t >= rs_.window_end) break;
    if (t > now_ns()) {
      timer_.expires_at(to_time_point(t));
      co_await timer_.async_wait(use_nothrow);
      if (rs_.stopping) break;
    }
    // Late (the previous write was blocked): send at once, still stamped
    // with the scheduled time, so the delay counts as latency.
    const bool sent = co_await send(t);
    if (!sent) break;
  }
}

asio::awaitable<void> publisher::run_closed_loop() {
  while (!rs_.stopping) {
    const nanos now = now_ns();
    if (now >= rs_.window_end) break;
    if (seq_ - answered_ >= rs_.opt.window) {
      // An answer, the end of sending or a stop wakes us.
      timer_.expires_at(to_time_point(rs_.window_end));
      co_await timer_.async_wait(use_nothrow);
      continue;
    }
    const bool sent = co_await send(now);
    if (!sent) break;
  }
}

const send_target& publisher::target_of(std::uint64_t seq) const {
  return targets_[(index_ + seq - 1) % targets_.size()];
}

asio::awaitable<bool> publisher::send(nanos t) {
  ++seq_;
  if (first_window_seq_ == 0 && t >= rs_.window_begin) first_window_seq_ = seq_;
  const auto& to = target_of(seq_);
  const auto seq = static_cast<std::int64_t>(seq_);
  frame_.assign(to.prefix);
  frame_ += "{\"t\":";
  append_number(frame_, t);
  frame_ += ",\"p\":";
  append_number(frame_, static_cast<std::int64_t>(index_));
  frame_ += ",\"s\":";
  append_number(frame_, seq);
  if (to.room >= 0) {
    frame_ += ",\"r\":";
    append_number(frame_, to.room);
  }
  if (!padding_.empty()) {
    frame_ += ",\"x\":\"";
    frame_ += padding_;
    frame_ += '"';
  }
  frame_ += "},\"ref\":";
  append_number(frame_, seq);
  frame_ += '}';

  ++rs_.total.c.sent;
  if (rs_.in_window(t)) ++rs_.total.c.window_sent;
  auto ec = co_await via_.conn.write(frame_);
  co_return !ec;
}

void publisher::on_answer(std::int64_t ref, bool acked) {
  if (ref <= 0 || static_cast<std::uint64_t>(ref) > seq_) return;  // not one of ours
  ++answered_;
  auto& c = rs_.total.c;
  if (!acked) {
    ++c.rejected;
  } else {
    ++c.acked;
    // Requests are stamped in order, so the measured ones are a suffix.
    if (first_window_seq_ != 0 && static_cast<std::uint64_t>(ref) >= first_window_seq_) {
      ++c.window_acked;
      c.expected += target_of(static_cast<std::uint64_t>(ref)).recipients;
    }
  }
  if (rs_.opt.closed_loop()) timer_.cancel();  // window room: the closed loop may send again
}

}  // namespace switchboard::load
