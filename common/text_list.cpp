#include "common/text_list.hpp"

namespace switchboard {

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin <= list.size()) {
    auto end = list.find(',', begin);
    if (end == std::string_view::npos) end = list.size();
    auto item = list.substr(begin, end - begin);
    auto first = item.find_first_not_of(" \t");
    if (first != std::string_view::npos)
      out.emplace_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
    begin = end + 1;
  }
  return out;
}

}  // namespace switchboard
