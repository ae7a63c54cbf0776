#pragma once
// A load process's connections and the senders that use them: opens them at
// a bounded concurrency, runs one read loop per connection that counts what
// arrives (the cheap receive path), and drops them all at the end.

#include <cstddef>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "scripts/loadtest/peer.hpp"
#include "scripts/loadtest/publisher.hpp"
#include "scripts/loadtest/run_state.hpp"

namespace switchboard::load {

class fleet {
 public:
  explicit fleet(run_state& rs);

  // Runs on a new connection before its read loop starts (to join a room);
  // false drops the connection.
  using setup_fn = std::function<asio::awaitable<bool>(peer&, std::size_t index)>;

  // Opens `count` connections, at most --connect-concurrency at a time, and
  // returns when each has opened or failed. With `time_handshakes`, handshake
  // times are the latency samples (the connect scenario). Minted tokens are
  // all signed first, so that signing is in neither handshake times nor the
  // handshake rate.
  asio::awaitable<void> connect(std::size_t count, setup_fn setup, bool time_handshakes);

  // Every connection tried, open or not, in the order they were tried.
  std::deque<peer>& peers() { return peers_; }
  std::size_t open_count() const;

  // A sender on `via`; see publisher.
  publisher& add_publisher(peer& via, std::size_t index, std::span<const send_target> targets);
  // Runs every sender to the end of sending.
  asio::awaitable<void> run_publishers();

  // Stops everything at once: senders and connections.
  void abort_all();

 private:
  asio::awaitable<void> connect_loop(std::size_t count, const setup_fn& setup, bool time_handshakes);
  asio::awaitable<void> read_loop(peer& p);
  void on_frame(peer& p, std::string_view frame);
  void on_delivery(peer& p, std::string_view frame);

  run_state& rs_;
  std::size_t write_buffer_;
  std::deque<peer> peers_;  // a deque: peers never move, coroutines hold references
  std::deque<publisher> publishers_;
  std::vector<std::string> tokens_;  // minted ones, by connection, until it opens
  std::size_t next_ = 0;    // the next connection to open
};

}  // namespace switchboard::load
