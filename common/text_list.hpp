#pragma once
// A comma-separated list of a flag ("a, b,c"), as its items: each trimmed
// of blanks, empty ones dropped.

#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

std::vector<std::string> split_list(std::string_view list);

}  // namespace switchboard
