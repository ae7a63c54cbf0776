#pragma once
// The answers of one connection's requests, released in request order while
// several of them wait on Redis at once (PROTOCOL.md: answers come in
// request order).
//
// Each request takes a ticket when it is read. The oldest unfinished one's
// answers go out as it makes them; a later one's wait in its slot until
// every earlier request has finished, then leave with it in one piece.
// Nothing is allocated while no request is in flight.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {

class answer_order {
 public:
  using frame_ptr = std::shared_ptr<const std::string>;
  using ticket = std::uint64_t;

  // The next request's place in line.
  ticket open() {
    if (next_ != first_) slots_.emplace_back();
    return next_++;
  }
  // `frame` answers `t`: handed to `release` at once if `t` is the oldest
  // unfinished request, else kept until it is.
  template <class Release>
  void add(ticket t, frame_ptr frame, Release&& release) {
    if (t == first_) return release(std::move(frame));
    slots_[head_ + (t - first_ - 1)].frames.push_back(std::move(frame));
  }
  // `t` has made all its answers; the ones now due go to `release`, in order.
  template <class Release>
  void finish(ticket t, Release&& release) {
    if (t != first_) {
      slots_[head_ + (t - first_ - 1)].done = true;
      return;
    }
    // The head is finished: the slots behind it follow, up to the next one
    // still waiting, whose answers so far go too (it is the head now).
    for (;;) {
      ++first_;
      if (next_ == first_) break;
      slot s = std::move(slots_[head_++]);
      for (auto& frame : s.frames) release(std::move(frame));
      if (!s.done) break;
    }
    if (head_ == slots_.size()) {
      slots_.clear();
      head_ = 0;
    }
  }
  // Requests opened and not finished.
  std::size_t in_flight() const { return static_cast<std::size_t>(next_ - first_); }

 private:
  struct slot {
    std::vector<frame_ptr> frames;
    bool done = false;
  };
  // The slots of tickets first_ + 1 ... next_ - 1, from slots_[head_]: the
  // head (first_) needs none, its answers leave at once.
  std::vector<slot> slots_;
  std::size_t head_ = 0;
  ticket first_ = 0;  // the oldest unfinished ticket
  ticket next_ = 0;   // the next ticket open() gives
};

}  // namespace switchboard
