// fanout, direct and rooms: connections that receive, senders that publish.

#include <algorithm>
#include <vector>

#include "common/protocol/frames.hpp"
#include "scripts/loadtest/scenario.hpp"

namespace switchboard::load {
namespace {

using kind = receive_role::kind;

std::vector<peer*> open_peers(fleet& fl) {
  std::vector<peer*> out;
  for (auto& p : fl.peers()) {
    if (p.open) out.push_back(&p);
  }
  return out;
}

std::string room_name(const run_state& rs, std::size_t room) {
  return "load." + rs.whole.run_tag + "." + std::to_string(room);
}

// A refused join is retried this often, backing off from join_backoff:
// `unavailable` tells a client to retry (PROTOCOL.md).
constexpr int join_attempts = 5;
constexpr auto join_backoff = std::chrono::milliseconds(20);

// Joins `room` with ack; false when refused every time (each refusal is
// counted as an error) or the connection failed.
asio::awaitable<bool> join(run_state& rs, peer& p, const std::string& room) {
  const std::string request = "{\"type\":\"join\",\"room\":" + protocol::json_quote(room) + ",\"ref\":1}";
  asio::steady_timer backoff(rs.ioc);
  for (int attempt = 0; attempt < join_attempts && !rs.stopping; ++attempt) {
    if (attempt > 0) {
      backoff.expires_after(join_backoff * (1 << attempt));
      co_await backoff.async_wait(use_nothrow);
    }
    const auto write_failed = co_await p.conn.write(request);
    if (write_failed) co_return false;
    for (;;) {
      auto [ec, frame] = co_await p.conn.read();
      if (ec) co_return false;
      auto k = classify(frame);
      if (k == frame_kind::ack) {
        ++rs.total.c.joined;
        co_return true;
      }
      if (k == frame_kind::error) {
        ++rs.total.c.errors;
        bump(rs.total.errors, scan_string(frame, "\"code\":\"").value_or("unknown"));
        break;
      }
    }
  }
  co_return false;
}

}  // namespace

// Everyone receives every broadcast; the first --publishers connections send.
asio::awaitable<void> run_fanout(run_state& rs, fleet& fl, control& ctl) {
  co_await fl.connect(rs.part.connections, nullptr, false);
  auto open = open_peers(fl);
  for (peer* p : open) p->expect({kind::any, 0}, rs.whole.total_senders);
  const bool go = co_await await_go(rs, ctl, open.size());
  if (!go) co_return;

  // Every connection in every process gets each one, the sender included.
  const std::vector<send_target> targets{{"{\"type\":\"broadcast\",\"data\":", rs.global_connected, -1}};
  for (std::size_t i = 0; i < std::min(rs.part.senders, open.size()); ++i)
    fl.add_publisher(*open[i], rs.part.sender_base + i, targets);
  co_await fl.run_publishers();
  co_await ctl.wait_stop();  // late acks still read `targets`
}

// Pairs, one sending to the other. Sorted by worker, connection i pairs with
// i + n/2: partners then share a worker only when one worker holds more than
// half of them, and then as few pairs as possible do.
asio::awaitable<void> run_direct(run_state& rs, fleet& fl, control& ctl) {
  co_await fl.connect(rs.part.connections, nullptr, false);
  auto open = open_peers(fl);
  std::stable_sort(open.begin(), open.end(), [](peer* a, peer* b) { return a->conn.worker() < b->conn.worker(); });
  const std::size_t pairs = open.size() / 2;

  std::vector<send_target> targets;
  targets.reserve(pairs);
  for (std::size_t i = 0; i < pairs; ++i) {
    peer& receiver = *open[i];
    peer& sender = *open[i + pairs];
    const auto index = rs.part.sender_base + i;
    receiver.expect({kind::sender, static_cast<std::int64_t>(index)}, 1);
    targets.push_back({"{\"type\":\"direct\",\"to\":" + protocol::json_quote(receiver.conn.id()) + ",\"data\":", 1, -1});
    ++rs.total.c.pairs;
    if (receiver.conn.worker() != sender.conn.worker()) ++rs.total.c.cross_worker_pairs;
  }
  const bool go = co_await await_go(rs, ctl, open.size());
  if (!go) co_return;

  for (std::size_t i = 0; i < pairs; ++i)
    fl.add_publisher(*open[i + pairs], rs.part.sender_base + i, std::span(&targets[i], 1));
  co_await fl.run_publishers();
  co_await ctl.wait_stop();
}

// Members join their room with ack before go; the senders are extra
// connections in no room, each cycling through this process's rooms.
asio::awaitable<void> run_rooms(run_state& rs, fleet& fl, control& ctl) {
  const std::size_t members = rs.part.rooms * rs.opt.room_size;
  std::vector<std::string> names;
  for (std::size_t r = 0; r < rs.part.rooms; ++r) names.push_back(room_name(rs, rs.part.room_base + r));

  co_await fl.connect(
      rs.part.connections,
      [&](peer& p, std::size_t index) -> asio::awaitable<bool> {
        if (index >= members) co_return true;  // a sender
        co_return co_await join(rs, p, names[index / rs.opt.room_size]);
      },
      false);

  std::vector<send_target> targets(rs.part.rooms);
  for (std::size_t r = 0; r < rs.part.rooms; ++r) {
    const auto global = static_cast<std::int64_t>(rs.part.room_base + r);
    targets[r] = {"{\"type\":\"room\",\"room\":" + protocol::json_quote(names[r]) + ",\"data\":", 0, global};
  }
  std::vector<peer*> senders;
  for (std::size_t i = 0; i < fl.peers().size(); ++i) {
    peer& p = fl.peers()[i];
    if (!p.open) continue;
    if (i >= members) {
      senders.push_back(&p);
      continue;  // role none: a sender in no room must get nothing
    }
    auto& target = targets[i / rs.opt.room_size];
    p.expect({kind::room, target.room}, rs.whole.total_senders);
    ++target.recipients;
  }
  const bool go = co_await await_go(rs, ctl, open_peers(fl).size());
  if (!go) co_return;

  if (!targets.empty()) {
    for (std::size_t i = 0; i < senders.size(); ++i) fl.add_publisher(*senders[i], rs.part.sender_base + i, targets);
  }
  co_await fl.run_publishers();
  co_await ctl.wait_stop();
}

}  // namespace switchboard::load
