#include "common/byte_size.hpp"

#include <charconv>
#include <limits>

namespace switchboard {

std::optional<std::size_t> parse_byte_size(std::string_view text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
  std::size_t scale = 1;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "K" || unit == "KB" || unit == "KiB" || unit == "k") {
    scale = std::size_t{1} << 10;
  } else if (unit == "M" || unit == "MB" || unit == "MiB") {
    scale = std::size_t{1} << 20;
  } else if (unit == "G" || unit == "GB" || unit == "GiB") {
    scale = std::size_t{1} << 30;
  } else {
    return std::nullopt;
  }
  if (value > std::numeric_limits<std::size_t>::max() / scale) return std::nullopt;
  return value * scale;
}

}  // namespace switchboard
