#pragma once
// One sender: sends requests on its connection, open loop (on a fixed
// schedule, each stamped with its scheduled time so a stalled server shows
// as latency instead of hiding in a queue) or closed loop (as fast as the
// server answers, with a bounded number unanswered). Every request carries
// `ref` = its sequence number; the server answers in order.

#include <cstdint>
#include <span>
#include <string>

#include "scripts/loadtest/peer.hpp"
#include "scripts/loadtest/run_state.hpp"

namespace switchboard::load {

// Where a request goes: the frame text up to the `data` value, and how many
// deliveries each acknowledged one owes.
struct send_target {
  std::string prefix;  // e.g. {"type":"room","room":"load.1a2b.7","data":
  std::uint64_t recipients = 0;
  std::int64_t room = -1;  // stamped as "r" when set
};

class publisher {
 public:
  // `index`: this sender's global number (the `p` stamp). It cycles through
  // `targets`, starting at index % targets.size(); they must outlive it.
  publisher(peer& via, run_state& rs, std::size_t index, std::span<const send_target> targets);

  // Sends from rs.start until rs.window_end, or until stopped.
  asio::awaitable<void> run();
  // The answer to request `ref`: ack or error.
  void on_answer(std::int64_t ref, bool acked);
  // Ends a wait for the schedule or for window room.
  void wake() { timer_.cancel(); }

 private:
  asio::awaitable<void> run_open_loop();
  asio::awaitable<void> run_closed_loop();
  // Sends the next request stamped `t`; false when the connection failed.
  asio::awaitable<bool> send(nanos t);
  const send_target& target_of(std::uint64_t seq) const;

  peer& via_;
  run_state& rs_;
  std::size_t index_;
  std::span<const send_target> targets_;
  std::string frame_;  // reused: a send allocates nothing once it has grown
  std::string padding_;
  std::uint64_t seq_ = 0;       // the last sequence number sent
  std::uint64_t answered_ = 0;  // acks and errors received
  std::uint64_t first_window_seq_ = 0;  // the first measured request; 0: none yet
  asio::steady_timer timer_;
};

}  // namespace switchboard::load
