#pragma once
// When tokens run out (PROTOCOL.md, "Token lifetime"): one timer for the
// whole worker, armed for the earliest deadline, and one slot per deadline
// second holding an intrusive list of the sessions due then. A session pays
// for this with its list hook and nothing else, and a close or a refresh
// takes it out of its slot in constant time.

#include <cstdint>
#include <map>
#include <optional>

#include <boost/asio/system_timer.hpp>
#include <boost/intrusive/list.hpp>

#include "common/net.hpp"

namespace switchboard {

using expiry_hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// What the wheel holds: a session whose token has a deadline. It leaves its
// slot by itself when destroyed.
class expiring : public expiry_hook {
 public:
  // The deadline has passed: close the connection (4001).
  virtual void expire() = 0;

 protected:
  ~expiring() = default;
};

class expiry_wheel {
 public:
  explicit expiry_wheel(asio::any_io_executor ex);
  expiry_wheel(const expiry_wheel&) = delete;
  expiry_wheel& operator=(const expiry_wheel&) = delete;

  // Due at `deadline` (seconds since the epoch), instead of any earlier
  // deadline it had.
  void schedule(expiring& who, std::int64_t deadline);
  // Due never (a refreshed token without exp).
  static void cancel(expiring& who) { who.unlink(); }

 private:
  using slot = boost::intrusive::list<expiring, boost::intrusive::constant_time_size<false>>;

  void arm();
  // Expires every session of every slot whose second has come.
  void on_timer(error_code ec);

  std::map<std::int64_t, slot> slots_;  // deadline -> sessions; empty slots wait for their second
  asio::system_timer timer_;
  std::optional<std::int64_t> armed_for_;  // the deadline timer_ waits for
};

}  // namespace switchboard
