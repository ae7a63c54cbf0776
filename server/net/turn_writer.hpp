#pragma once
// Once per turn of the worker's event loop, every connection with frames
// pending writes all of them in one send, and the sends of all of them
// reach the kernel in one system call (send_ring).
//
// Delivering a frame only queues it and marks its connection. The first mark
// of a turn posts one drain, which runs after the handlers that are ready
// now: every message of one Redis read, every answer of one read of a
// client, is queued before it. Nothing waits for a timer: a frame alone in
// its turn leaves in that turn.

#include <memory>
#include <vector>

#include "common/net.hpp"
#include "server/net/send_ring.hpp"

namespace switchboard {

// A connection that writes what it has pending when the drain comes.
class pending_writer {
 public:
  virtual void write_pending() = 0;

 protected:
  ~pending_writer() = default;
};

class turn_writer {
 public:
  turn_writer(asio::io_context::executor_type ex, send_ring& ring) : ex_(ex), ring_(ring) {}
  turn_writer(const turn_writer&) = delete;
  turn_writer& operator=(const turn_writer&) = delete;

  // `who` writes in this turn's drain; the caller marks it once per turn.
  // Held until then, so it outlives its own end.
  void mark(std::shared_ptr<pending_writer> who);

 private:
  void drain();

  asio::io_context::executor_type ex_;
  send_ring& ring_;
  std::vector<std::shared_ptr<pending_writer>> marked_;
  std::vector<std::shared_ptr<pending_writer>> draining_;  // kept for its capacity
  bool posted_ = false;
};

}  // namespace switchboard
