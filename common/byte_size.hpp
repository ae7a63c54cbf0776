#pragma once
// Parses sizes given on the command line: "65536", "64KiB", "4MiB", "1GiB"
// (K/M/G and KB/MB/GB are accepted as binary units too).

#include <cstddef>
#include <optional>
#include <string_view>

namespace switchboard {

std::optional<std::size_t> parse_byte_size(std::string_view text);

}  // namespace switchboard
