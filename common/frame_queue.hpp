#pragma once
// A session's outbound queue: shared immutable frames in FIFO order, with a
// running byte count. Unlike std::deque it allocates nothing until the first
// push, which matters with tens of thousands of idle connections per worker.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {

class frame_queue {
 public:
  using frame_ptr = std::shared_ptr<const std::string>;

  bool empty() const { return head_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - head_; }
  // Bytes of the frames still queued.
  std::size_t bytes() const { return bytes_; }

  void push(frame_ptr frame);
  // Precondition: !empty().
  frame_ptr pop();
  // Frames from the front, in order: at least one (if any), then more while
  // there are at most `max` of them and `max_bytes` between them.
  std::vector<frame_ptr> take(std::size_t max, std::size_t max_bytes);
  void clear();

 private:
  std::vector<frame_ptr> frames_;
  std::size_t head_ = 0;  // frames_[0, head_) are taken
  std::size_t bytes_ = 0;
};

}  // namespace switchboard
