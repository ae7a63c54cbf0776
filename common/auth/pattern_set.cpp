#include "common/auth/pattern_set.hpp"

#include <algorithm>
#include <functional>
#include <iterator>

namespace switchboard::auth {

pattern_set::pattern_set(const std::vector<std::string>& patterns) {
  for (const auto& text : patterns) {
    room_pattern pattern(text);
    switch (pattern.kind()) {
      case room_pattern::shape::match_all: match_all_ = true; break;
      case room_pattern::shape::exact: exact_.emplace_back(pattern.literal()); break;
      case room_pattern::shape::prefix: prefixes_.emplace_back(pattern.literal()); break;
      case room_pattern::shape::general: general_.push_back(std::move(pattern)); break;
    }
  }
  if (match_all_) {
    // `*` answers every question: keep nothing else.
    exact_.clear();
    prefixes_.clear();
    general_.clear();
    return;
  }
  std::sort(exact_.begin(), exact_.end());
  exact_.erase(std::unique(exact_.begin(), exact_.end()), exact_.end());
  // Shortest first, so that a prefix another one already covers is dropped.
  std::sort(prefixes_.begin(), prefixes_.end());
  std::vector<std::string> kept;
  for (auto& prefix : prefixes_) {
    if (!kept.empty() && std::string_view(prefix).starts_with(kept.back())) continue;
    kept.push_back(std::move(prefix));
  }
  prefixes_ = std::move(kept);
}

bool pattern_set::matches(std::string_view room) const noexcept {
  if (match_all_) return true;
  if (std::binary_search(exact_.begin(), exact_.end(), room, std::less<>{})) return true;
  // Sorted and free of prefixes of one another, only the last prefix not
  // after the room can be one of its prefixes: any later one up to the room
  // would start with that one.
  auto after = std::upper_bound(prefixes_.begin(), prefixes_.end(), room, std::less<>{});
  if (after != prefixes_.begin() && room.starts_with(*std::prev(after))) return true;
  for (const auto& pattern : general_) {
    if (pattern.matches(room)) return true;
  }
  return false;
}

}  // namespace switchboard::auth
