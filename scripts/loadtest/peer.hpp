#pragma once
// A connection of the fleet with its part in the scenario: which deliveries
// it should get (its role), the last sequence number seen from each sender
// (to catch reordering), and the sender that uses it, if any.

#include <cstdint>
#include <vector>

#include "scripts/loadtest/client.hpp"
#include "scripts/loadtest/frame_scan.hpp"

namespace switchboard::load {

class publisher;

// Which deliveries a connection is meant to get.
struct receive_role {
  enum class kind {
    none,    // none at all: anything is unexpected
    any,     // every sender's (fanout)
    sender,  // one sender's: value is its index (direct)
    room,    // one room's: value is the room's index (rooms)
  };
  kind k = kind::none;
  std::int64_t value = 0;

  bool accepts(const stamp& s) const;
};

struct peer {
  peer(asio::io_context& ioc, std::size_t write_buffer) : conn(ioc, write_buffer) {}

  // Sets the role and sizes the reorder check: one slot per sender that may
  // reach this connection (`senders` in all processes).
  void expect(receive_role r, std::size_t senders);

  client conn;
  receive_role role;
  std::vector<std::uint32_t> last_seq;
  publisher* sender = nullptr;  // gets this connection's acks and errors
  bool open = false;
};

}  // namespace switchboard::load
