#pragma once
// Silent peers, found by one timer for the whole worker instead of one per
// connection (Beast's own idle timeout arms a timer in every stream). Each
// tick every watched connection is asked whether it heard from its peer
// since the last tick: if not it pings, and a peer still silent at the next
// tick is dropped. With ticks half the idle timeout apart, a silent peer is
// pinged after half to all of it and dropped half of it later.

#include <chrono>

#include <boost/intrusive/list.hpp>

#include "common/net.hpp"

namespace switchboard {

struct idle_tag;
// Tagged: a session is in the expiry wheel's lists with another hook.
using idle_hook = boost::intrusive::list_base_hook<boost::intrusive::tag<idle_tag>,
                                                   boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// A connection the watch asks once per tick; it leaves the watch by itself
// when destroyed.
class watched : public idle_hook {
 public:
  // Heard nothing since the last tick: ping; after a ping: drop the peer.
  virtual void idle_tick() = 0;

 protected:
  ~watched() = default;
};

class idle_watch {
 public:
  idle_watch(asio::io_context::executor_type ex, std::chrono::steady_clock::duration tick);
  idle_watch(const idle_watch&) = delete;
  idle_watch& operator=(const idle_watch&) = delete;

  // Asked from the next tick on, until it unlinks or is destroyed.
  void watch(watched& who);

 private:
  using watch_list = boost::intrusive::list<watched, boost::intrusive::base_hook<idle_hook>,
                                            boost::intrusive::constant_time_size<false>>;

  void arm();
  void on_tick(error_code ec);

  watch_list watched_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::duration tick_;
  bool armed_ = false;
};

}  // namespace switchboard
