#include "server/net/turn_writer.hpp"

namespace switchboard {

void turn_writer::mark(std::shared_ptr<pending_writer> who) {
  marked_.push_back(std::move(who));
  if (posted_) return;
  posted_ = true;
  asio::post(ex_, [this] { drain(); });
}

void turn_writer::drain() {
  posted_ = false;
  // Marks made while draining (a connection with more than one send's worth)
  // go to the next turn.
  draining_.swap(marked_);
  {
    send_ring::batch batch(ring_);
    for (auto& who : draining_) who->write_pending();
  }
  draining_.clear();
}

}  // namespace switchboard
