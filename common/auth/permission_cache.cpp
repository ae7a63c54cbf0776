#include "common/auth/permission_cache.hpp"

#include <algorithm>
#include <iterator>

namespace switchboard::auth {

std::shared_ptr<const permissions> permission_cache::share(claims& verified) {
  auto& entry = entries_[verified.grants_key];
  if (auto live = entry.lock()) return live;
  auto made = std::make_shared<const permissions>(std::move(verified.grants));
  entry = made;
  if (entries_.size() >= purge_at_) purge();
  return made;
}

std::size_t permission_cache::size() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& e) { return !e.second.expired(); }));
}

void permission_cache::purge() {
  std::erase_if(entries_, [](const auto& e) { return e.second.expired(); });
  purge_at_ = std::max<std::size_t>(64, 2 * entries_.size());
}

}  // namespace switchboard::auth
