#include "tests/support/exposition.hpp"

#include <regex>
#include <set>
#include <sstream>

namespace switchboard::testing {
namespace {

// The family a sample belongs to: a histogram's _bucket, _sum and _count
// series belong to the histogram.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (!name.ends_with(suffix)) continue;
    std::string base = name.substr(0, name.size() - suffix.size());
    auto it = types.find(base);
    if (it != types.end() && it->second == "histogram") return base;
  }
  return name;
}

// The labels without `le`, to group one histogram's buckets.
std::string without_le(const std::string& labels) {
  static const std::regex le(R"(,?le="[^"]*")");
  return std::regex_replace(labels, le, "");
}

}  // namespace

double exposition::value(std::string_view name, std::string_view node, int worker, std::string_view extra) const {
  std::string key = std::string(name) + "{node=\"" + std::string(node) + "\",worker=\"" + std::to_string(worker) + "\"";
  if (!extra.empty()) key += "," + std::string(extra);
  key += "}";
  auto it = series.find(key);
  return it == series.end() ? -1 : it->second;
}

exposition parse_exposition(const std::string& text) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$)");
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  exposition out;
  std::set<std::string> helped;
  // histogram series (labels without le) -> last cumulative bucket value
  std::map<std::string, double> buckets;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto where = "line " + std::to_string(number) + ": ";
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      if (!helped.insert(m[1].str()).second) out.problems.push_back(where + "second HELP for " + m[1].str());
      continue;
    }
    if (std::regex_match(line, m, type)) {
      auto name = m[1].str();
      if (!out.types.emplace(name, m[2].str()).second) out.problems.push_back(where + "second TYPE for " + name);
      if (m[2] == "counter" && !name.ends_with("_total")) out.problems.push_back(where + "counter without _total: " + name);
      continue;
    }
    if (!std::regex_match(line, m, sample)) {
      out.problems.push_back(where + "not a valid line: " + line);
      continue;
    }
    auto name = m[1].str();
    auto labels = m[2].str();
    double v = 0;
    try {
      std::size_t used = 0;
      v = std::stod(m[3].str(), &used);
      if (used != m[3].str().size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      out.problems.push_back(where + "not a number: " + m[3].str());
      continue;
    }
    auto family = family_of(name, out.types);
    if (!out.types.contains(family)) out.problems.push_back(where + "sample before its TYPE: " + name);
    if (!helped.contains(family)) out.problems.push_back(where + "sample without HELP: " + name);
    if (out.types[family] == "counter" && v < 0) out.problems.push_back(where + "negative counter: " + line);
    if (!out.series.emplace(name + "{" + labels + "}", v).second) out.problems.push_back(where + "duplicate: " + line);

    if (name == family + "_bucket") {
      auto group = family + "{" + without_le(labels) + "}";
      auto [it, fresh] = buckets.emplace(group, v);
      if (!fresh && v < it->second) out.problems.push_back(where + "bucket below the one before: " + line);
      it->second = v;
    } else if (name == family + "_count") {
      auto it = buckets.find(family + "{" + labels + "}");
      if (it == buckets.end() || it->second != v)
        out.problems.push_back(where + "_count differs from the +Inf bucket: " + line);
    }
  }
  return out;
}

}  // namespace switchboard::testing
