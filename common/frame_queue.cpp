#include "common/frame_queue.hpp"

#include <algorithm>
#include <cassert>

namespace switchboard {
namespace {

// A queue that grew in a burst gives its memory back once drained.
constexpr std::size_t kept_capacity = 64;

}  // namespace

void frame_queue::push(frame_ptr frame) {
  bytes_ += frame->size();
  frames_.push_back(std::move(frame));
}

frame_queue::frame_ptr frame_queue::pop() {
  assert(!empty());
  frame_ptr frame = std::move(frames_[head_++]);
  bytes_ -= frame->size();
  if (empty()) clear();
  return frame;
}

std::vector<frame_queue::frame_ptr> frame_queue::take(std::size_t max, std::size_t max_bytes) {
  std::vector<frame_ptr> taken;
  taken.reserve(std::min(max, size()));
  std::size_t bytes = 0;
  while (taken.size() < max && !empty()) {
    const std::size_t next = frames_[head_]->size();
    if (!taken.empty() && bytes + next > max_bytes) break;
    bytes += next;
    taken.push_back(pop());
  }
  return taken;
}

void frame_queue::clear() {
  frames_.clear();
  if (frames_.capacity() > kept_capacity) frames_.shrink_to_fit();
  head_ = 0;
  bytes_ = 0;
}

}  // namespace switchboard
