#pragma once
// The primary of a Sentinel group: asked of the sentinels, one after the
// other from the one that answered last (SENTINEL get-master-addr-by-name),
// and confirmed with ROLE by the connection that uses it (primary_only).
// A sentinel_watch hears +switch-master; a connection that meets READONLY
// reports it (primary_lost). Either way on_moved tells the owner to move
// every connection.
//
// After a failover the sentinels that were not its leader go on naming the
// old primary for a moment, and the old primary, until Sentinel demotes it,
// still says "master" to ROLE. So an address that a +switch-master moved
// away from is skipped until a later switch moves back to it, and when
// every sentinel still names it, the switch's new address is used.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_set>

#include "common/redis/locator.hpp"
#include "common/redis/sentinel_group.hpp"
#include "common/redis/sentinel_watch.hpp"

namespace switchboard::redis {

class sentinel_locator final : public locator, public std::enable_shared_from_this<sentinel_locator> {
 public:
  // A sentinel on loopback or in the same network answers in a millisecond;
  // one that takes longer is skipped for the next.
  static constexpr std::chrono::milliseconds ask_timeout{500};

  sentinel_locator(asio::any_io_executor ex, sentinel_group group);

  asio::awaitable<std::pair<error_code, endpoint>> locate() override;
  std::string describe() const override { return group_.describe(); }
  void start() override { watch_.start(); }
  void stop() override { watch_.stop(); }
  void primary_lost() override;
  std::string primary() const override { return primary_; }

 private:
  // The address one sentinel gives for the master; an error when it is
  // unreachable, does not know the name, or answers nonsense.
  asio::awaitable<std::pair<error_code, std::string>> ask(const endpoint& sentinel);
  void switched(const std::string& from, const std::string& to);
  void moved();
  endpoint primary_at(const std::string& address) const;

  asio::any_io_executor ex_;
  sentinel_group group_;
  sentinel_watch watch_;
  std::size_t preferred_ = 0;                // the sentinel that answered last
  std::unordered_set<std::string> demoted_;  // addresses a switch moved away from
  std::string switched_to_;                  // the last switch's new address
  std::string primary_;                      // the address located last
};

}  // namespace switchboard::redis
