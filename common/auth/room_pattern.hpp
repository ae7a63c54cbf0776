#pragma once
// One room pattern of a token's `rooms` or `publish` claim (PROTOCOL.md,
// "Permissions"): a room name in which `*` matches any run of characters,
// the empty run included, and every other character only itself, case
// included. Compiled once into the literal pieces between the stars, so
// that a match allocates nothing and never backtracks.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::auth {

class room_pattern {
 public:
  // What pattern_set sorts patterns by: exact names go to a binary search,
  // `chat:*` to a prefix test, and only the rest are matched piece by piece.
  enum class shape {
    exact,      // no star
    prefix,     // one star, at the end
    match_all,  // nothing but stars
    general,    // anything else
  };

  explicit room_pattern(std::string_view text);

  // Bytes are compared, not code points: a piece and a room are both whole
  // UTF-8, so a piece can only ever line up with whole characters.
  bool matches(std::string_view room) const noexcept;

  const std::string& text() const noexcept { return text_; }
  shape kind() const noexcept;
  // The exact name, or the prefix before the star; empty for other shapes.
  std::string_view literal() const noexcept;

 private:
  // A run of text_ between stars; never empty (consecutive stars are one).
  struct piece {
    std::uint32_t offset;
    std::uint32_t size;
  };

  std::string_view view(piece p) const noexcept { return std::string_view(text_).substr(p.offset, p.size); }

  std::string text_;
  std::vector<piece> pieces_;
  bool has_star_ = false;
  bool leading_star_ = false;   // the first piece may start anywhere
  bool trailing_star_ = false;  // the last piece may end anywhere
};

}  // namespace switchboard::auth
