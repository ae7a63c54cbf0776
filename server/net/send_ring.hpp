#pragma once
// One worker's batched sends: the frames a fan-out hands to many sockets
// reach the kernel in one system call instead of one each.
//
// While a `batch` is open, sends are queued on an io_uring submission ring;
// when the outermost batch closes, one io_uring_enter issues them all. Each
// send carries MSG_DONTWAIT, so the kernel completes it during that call
// (whole, partial, or EAGAIN) and never keeps it pending: no send outlives
// the batch, and a socket closed afterwards has nothing in flight.
//
// Where the kernel refuses io_uring (a container's seccomp profile,
// kernel.io_uring_disabled), `available()` is false and callers send each
// frame with send(2), as they do outside a batch.

#include <sys/socket.h>

#include <memory>
#include <string>

struct io_uring;

namespace switchboard {

class send_ring {
 public:
  // A queued send: the message it sends and what happens when it is done.
  class operation {
   public:
    virtual ~operation() = default;
    // `result`: bytes the kernel took, or -errno (-EAGAIN: none, buffer full).
    virtual void complete(int result) = 0;
    // The kernel reads this (and the iovecs it names) when the batch closes.
    msghdr message{};
  };

  // Opens the ring; `entries` sends fit in one system call.
  explicit send_ring(unsigned entries = 1024);
  ~send_ring();
  send_ring(const send_ring&) = delete;
  send_ring& operator=(const send_ring&) = delete;

  bool available() const noexcept { return ring_ != nullptr; }
  // Why the ring is unavailable (empty when it is available).
  const std::string& unavailable_reason() const noexcept { return unavailable_reason_; }

  // True while a batch is open on an available ring: send() may be used.
  bool batching() const noexcept { return ring_ != nullptr && depth_ > 0; }

  // Queues `op` for `fd`; it completes when the batch closes (or earlier, if
  // the ring fills up). Only while batching().
  void send(int fd, std::unique_ptr<operation> op);

  // Sends in this scope are issued together when the outermost one ends.
  // Nothing may close a socket with a queued send before then: the kernel
  // resolves the descriptor number only at submission.
  class batch {
   public:
    explicit batch(send_ring& ring) noexcept : ring_(ring) { ++ring_.depth_; }
    ~batch() {
      if (--ring_.depth_ == 0) ring_.submit();
    }
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;

   private:
    send_ring& ring_;
  };

 private:
  // Issues every queued send and completes each.
  void submit();

  std::unique_ptr<io_uring> ring_;
  std::string unavailable_reason_;
  unsigned depth_ = 0;
  unsigned queued_ = 0;
};

}  // namespace switchboard
