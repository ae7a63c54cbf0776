// connect and churn: the load is opening connections, not messages.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "scripts/loadtest/scenario.hpp"
#include "scripts/loadtest/wait_group.hpp"

namespace switchboard::load {
namespace {

// One churn cycle's request: a ping, answered by pong.
constexpr std::string_view ping_frame = "{\"type\":\"ping\",\"ref\":1}";

// Connect, ping, await pong, close; the latency sample runs from the cycle's
// scheduled start to the pong.
asio::awaitable<void> churn_cycle(run_state& rs, nanos scheduled, const asio::ip::address& source,
                                  std::string token) {
  auto& s = rs.total;
  client c(rs.ioc, 512);
  ++s.c.attempts;
  auto failure = co_await c.open(rs.to, source, static_cast<nanos>(rs.opt.connect_timeout * 1e9), std::move(token));
  if (!failure.empty()) {
    if (rs.stopping) co_return;
    ++s.c.connect_failed;
    bump(s.failures, failure);
    co_return;
  }
  ++s.c.opened;
  ++s.c.sent;
  if (rs.in_window(scheduled)) ++s.c.window_sent;
  const auto write_failed = co_await c.write(ping_frame);
  if (write_failed) co_return;
  for (;;) {
    auto [ec, frame] = co_await c.read();
    if (ec) {
      if (!rs.stopping) {
        ++s.c.lost;
        ++s.close_codes[c.close_code()];
      }
      co_return;
    }
    auto k = classify(frame);
    if (k == frame_kind::pong) break;
    if (k == frame_kind::error) {
      ++s.c.errors;
      ++s.c.rejected;
      bump(s.errors, scan_string(frame, "\"code\":\"").value_or("unknown"));
      co_await c.close();
      co_return;
    }
  }
  ++s.c.acked;
  if (rs.in_window(scheduled)) ++s.c.window_acked;
  rs.record_latency(scheduled, now_ns());
  co_await c.close();
}

// One loop of cycles: on its share of the schedule (open loop), or back to
// back (closed loop). `token` was minted before go for this loop, whose
// connections are never open two at a time: every cycle presents it, so
// that no cycle spends the load tester's CPU on signing (an RS256
// signature costs more than a server's handshake).
asio::awaitable<void> churn_loop(run_state& rs, std::size_t index, std::string token) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // A minted token is made anew once half its life has passed, between
  // cycles and before the schedule is read: a long run never presents an
  // expired one, and the signing is not in the cycle's latency.
  const nanos renew_after = rs.opt.token_ttl * ns_per_s / 2;
  nanos minted_at = now_ns();
  const auto& sources = rs.to.sources;
  const bool open_loop = !rs.opt.closed_loop();
  const double step = open_loop ? 1e9 / rs.opt.rate : 0;
  const double interval = step * static_cast<double>(rs.whole.total_senders);
  const double offset = step * static_cast<double>(index);
  for (std::uint64_t k = 0; !rs.stopping; ++k) {
    if (rs.tokens.mints() && now_ns() - minted_at >= renew_after) {
      token = rs.token_for(index);
      minted_at = now_ns();
    }
    const nanos scheduled =
        open_loop ? rs.start + std::llround(offset + static_cast<double>(k) * interval) : std::max(now_ns(), rs.start);
    if (scheduled >= rs.window_end) break;
    if (scheduled > now_ns()) {
      timer.expires_at(to_time_point(scheduled));
      co_await timer.async_wait(use_nothrow);
      if (rs.stopping) break;
    }
    const auto source = sources.empty() ? asio::ip::address() : sources[(index + k) % sources.size()];
    co_await churn_cycle(rs, scheduled, source, token);
  }
}

// The end of a hold: one ping on every open connection, from --ping-lead
// before the end, spread over the first half of it; the read loops count
// the pongs. Every ping due is sent at each wakeup, at most one wakeup per
// pace: a loaded machine wakes a process late, and a wait per ping would
// fall behind the schedule.
asio::awaitable<void> ping_all(run_state& rs, fleet& fl) {
  constexpr nanos pace = 10'000'000;  // 10 ms
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto& peers = fl.peers();
  const nanos lead = static_cast<nanos>(rs.opt.ping_lead * 1e9);
  const nanos first = std::max(rs.window_end - lead, rs.start);
  const auto count = static_cast<nanos>(peers.size());
  auto due = [&](nanos k) { return first + lead / 2 * k / count; };
  for (nanos k = 0; k < count;) {
    const nanos now = now_ns();
    if (due(k) > now) {
      timer.expires_at(to_time_point(std::max(due(k), now + pace)));
      co_await timer.async_wait(use_nothrow);
      continue;
    }
    for (; k < count && due(k) <= now && !rs.stopping; ++k) {
      auto& p = peers[static_cast<std::size_t>(k)];
      if (!p.open) continue;
      ++rs.total.c.sent;
      co_await p.conn.write(ping_frame);
    }
    if (rs.stopping) co_return;
  }
}

}  // namespace

// Open the connections, hold them idle, ping each at the end; then wait
// until the parent says stop.
asio::awaitable<void> run_connect(run_state& rs, fleet& fl, control& ctl) {
  co_await fl.connect(rs.part.connections, nullptr, true);
  const bool go = co_await await_go(rs, ctl, fl.open_count());
  if (!go) co_return;
  // Beside the wait, so that a stop before the end is not held up by it.
  if (rs.opt.ping_lead > 0 && !fl.peers().empty()) spawn(rs.ioc.get_executor(), ping_all(rs, fl), "final pings");
  co_await ctl.wait_stop();
}

asio::awaitable<void> run_churn(run_state& rs, control& ctl) {
  // Each loop's token, minted before go: see churn_loop.
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < rs.part.senders; ++i) tokens.push_back(rs.token_for(rs.part.sender_base + i));
  const bool go = co_await await_go(rs, ctl, 0);
  if (!go) co_return;
  wait_group loops(co_await asio::this_coro::executor);
  for (std::size_t i = 0; i < rs.part.senders; ++i)
    loops.spawn(churn_loop(rs, rs.part.sender_base + i, std::move(tokens[i])));
  co_await loops.wait();
  co_await ctl.wait_stop();
}

}  // namespace switchboard::load
