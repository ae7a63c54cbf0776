#pragma once
// Where the bus hands the messages that arrive for this worker's clients.
// The hub is the one implementation; the bus knows nothing above this.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/protocol/disconnect.hpp"
#include "common/protocol/frames.hpp"

namespace switchboard {

class delivery_sink {
 public:
  // `frame` is the exact text every local recipient that `kind`/`target`
  // names gets; it is shared, never copied per recipient. `offset`: its
  // place in the room's history, for a stored message; 0 for any other.
  virtual void deliver(protocol::scope kind, std::string_view target,
                       const std::shared_ptr<const std::string>& frame, std::uint64_t offset) = 0;
  // Closes the local connections the order names.
  virtual void disconnect(const protocol::disconnect_order& order) = 0;

 protected:
  ~delivery_sink() = default;
};

}  // namespace switchboard
