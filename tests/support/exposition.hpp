#pragma once
// A strict reader of the Prometheus text exposition format (0.0.4), for
// tests: every line must be a HELP, a TYPE or a sample; each family has one
// HELP and one TYPE, before its samples; counters end in _total; a series
// appears once; histogram buckets are cumulative and end at +Inf == _count.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::testing {

struct exposition {
  // "name{labels as written}" -> value
  std::map<std::string, double> series;
  // family name -> counter, gauge, histogram, ...
  std::map<std::string, std::string> types;
  // Everything that breaks the rules above; empty when the text is valid.
  std::vector<std::string> problems;

  // The value of `name{node="<node>",worker="<worker>"[,<extra>]}`, or -1
  // when there is no such series.
  double value(std::string_view name, std::string_view node, int worker, std::string_view extra = {}) const;
};

exposition parse_exposition(const std::string& text);

}  // namespace switchboard::testing
