#include "server/net/send_ring.hpp"

#include <liburing.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/log.hpp"

namespace switchboard {

send_ring::send_ring(unsigned entries) : ring_(std::make_unique<io_uring>()) {
  // SUBMIT_ALL: one bad descriptor does not stop the sends queued after it.
  io_uring_params params{};
  params.flags = IORING_SETUP_SUBMIT_ALL;
  int rc = io_uring_queue_init_params(entries, ring_.get(), &params);
  if (rc == -EINVAL) {
    params = {};
    rc = io_uring_queue_init_params(entries, ring_.get(), &params);
  }
  if (rc < 0) {
    unavailable_reason_ = std::strerror(-rc);
    ring_.reset();
  }
}

send_ring::~send_ring() {
  if (!ring_) return;
  submit();
  io_uring_queue_exit(ring_.get());
}

void send_ring::send(int fd, std::unique_ptr<operation> op) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (!sqe) {
    // The ring is full: issue what it holds, which frees every entry.
    submit();
    sqe = io_uring_get_sqe(ring_.get());
  }
  io_uring_prep_sendmsg(sqe, fd, &op->message, MSG_NOSIGNAL | MSG_DONTWAIT);
  io_uring_sqe_set_data(sqe, op.release());
  ++queued_;
}

void send_ring::submit() {
  if (queued_ == 0) return;
  unsigned expected = queued_;
  queued_ = 0;
  // The kernel may take fewer than were queued; what it leaves stays queued.
  while (io_uring_sq_ready(ring_.get()) > 0) {
    int rc = io_uring_submit(ring_.get());
    if (rc >= 0 || rc == -EINTR) continue;
    if (rc == -EAGAIN || rc == -ENOMEM) {
      // Short of kernel memory for the requests: transient, and the queued
      // sends cannot be taken back, so try again.
      std::this_thread::yield();
      continue;
    }
    // Anything else is a misuse of the ring, not a condition to survive.
    log::error(std::string("io_uring_submit: ") + std::strerror(-rc));
    std::abort();
  }
  // MSG_DONTWAIT sends complete during submission, so their completions are
  // already there: the wait does not block.
  while (expected > 0) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe(ring_.get(), &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) {
      log::error(std::string("io_uring_wait_cqe: ") + std::strerror(-rc));
      std::abort();
    }
    std::unique_ptr<operation> op(static_cast<operation*>(io_uring_cqe_get_data(cqe)));
    int result = cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    --expected;
    op->complete(result);
  }
}

}  // namespace switchboard
