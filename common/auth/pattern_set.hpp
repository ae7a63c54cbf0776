#pragma once
// The room patterns of one claim (`rooms` or `publish`), compiled once when
// a token is verified and asked on every join, presence, history or room
// message. Empty, it matches nothing: an absent claim allows nothing.
//
// Each pattern goes where it is cheapest to ask: exact names into a sorted
// vector (a binary search; smaller per connection than a hash set and just
// as quick at the sizes a token can carry), `chat:*` prefixes into another
// (one binary search finds the only prefix that can match), and only the
// other shapes are matched piece by piece. No lookup allocates.

#include <string>
#include <string_view>
#include <vector>

#include "common/auth/room_pattern.hpp"

namespace switchboard::auth {

class pattern_set {
 public:
  pattern_set() = default;
  explicit pattern_set(const std::vector<std::string>& patterns);

  bool matches(std::string_view room) const noexcept;
  bool empty() const noexcept { return !match_all_ && exact_.empty() && prefixes_.empty() && general_.empty(); }

 private:
  bool match_all_ = false;
  std::vector<std::string> exact_;     // sorted, unique
  std::vector<std::string> prefixes_;  // sorted, none a prefix of another
  std::vector<room_pattern> general_;
};

}  // namespace switchboard::auth
