#include "common/auth/room_pattern.hpp"

namespace switchboard::auth {

room_pattern::room_pattern(std::string_view text) : text_(text) {
  has_star_ = text_.find('*') != std::string::npos;
  leading_star_ = !text_.empty() && text_.front() == '*';
  trailing_star_ = !text_.empty() && text_.back() == '*';
  std::size_t start = 0;
  while (start <= text_.size()) {
    std::size_t star = text_.find('*', start);
    std::size_t end = star == std::string::npos ? text_.size() : star;
    if (end > start) pieces_.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end - start)});
    if (star == std::string::npos) break;
    start = star + 1;
  }
}

room_pattern::shape room_pattern::kind() const noexcept {
  if (!has_star_) return shape::exact;
  if (pieces_.empty()) return shape::match_all;
  if (pieces_.size() == 1 && !leading_star_ && trailing_star_) return shape::prefix;
  return shape::general;
}

std::string_view room_pattern::literal() const noexcept {
  switch (kind()) {
    case shape::exact: return text_;
    case shape::prefix: return view(pieces_.front());
    case shape::match_all:
    case shape::general: break;
  }
  return {};
}

bool room_pattern::matches(std::string_view room) const noexcept {
  if (!has_star_) return room == text_;
  // Pin the first piece to the start and the last to the end when no star
  // frees them, then find the middle ones left to right, each as early as
  // it occurs. Taking the earliest occurrence never loses a match: with only
  // `*` between pieces, whatever a later choice would leave for the rest, an
  // earlier one leaves more. So each piece is searched for once.
  std::size_t first = 0;
  std::size_t last = pieces_.size();
  std::size_t pos = 0;
  std::size_t end = room.size();
  if (!leading_star_) {
    auto head = view(pieces_[first++]);
    if (!room.starts_with(head)) return false;
    pos = head.size();
  }
  if (!trailing_star_ && last > first) {
    auto tail = view(pieces_[--last]);
    // The tail must not overlap what the head already took.
    if (end - pos < tail.size() || !room.ends_with(tail)) return false;
    end -= tail.size();
  }
  std::string_view middle = room.substr(0, end);
  for (std::size_t i = first; i < last; ++i) {
    auto p = view(pieces_[i]);
    std::size_t at = middle.find(p, pos);
    if (at == std::string_view::npos) return false;
    pos = at + p.size();
  }
  return true;
}

}  // namespace switchboard::auth
