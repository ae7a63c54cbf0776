// The monitoring files in deploy/ name only metrics that render() exposes:
// a renamed or removed metric fails here instead of in someone's dashboard.

#include "common/metrics.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace switchboard::metrics {
namespace {

const std::filesystem::path repo_root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();

std::string read(const std::filesystem::path& relative) {
  std::ifstream in(repo_root / relative);
  EXPECT_TRUE(in) << "cannot open " << (repo_root / relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Family name -> type, from the "# TYPE" lines of a real exposition.
std::map<std::string, std::string> families() {
  region r(2);
  std::istringstream in(render(r, "n"));
  std::map<std::string, std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    out[name] = type;
  }
  return out;
}

// Every switchboard_* identifier in `text`, histogram series mapped to their family.
std::set<std::string> metric_names(const std::string& text, const std::map<std::string, std::string>& known) {
  static const std::regex identifier(R"(\bswitchboard_\w+)");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), identifier), end; it != end; ++it) {
    std::string name = it->str();
    for (std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (!name.ends_with(suffix)) continue;
      std::string base = name.substr(0, name.size() - suffix.size());
      if (known.contains(base) && known.at(base) == "histogram") name = base;
    }
    out.insert(name);
  }
  return out;
}

nlohmann::json dashboard() { return nlohmann::json::parse(read("deploy/grafana/switchboard-dashboard.json")); }

TEST(ops_files, dashboard_parses_and_every_panel_has_a_title_and_a_query) {
  auto d = dashboard();
  ASSERT_TRUE(d["panels"].is_array());
  ASSERT_FALSE(d["panels"].empty());
  for (const auto& panel : d["panels"]) {
    if (panel["type"] == "row") continue;
    EXPECT_FALSE(panel.value("title", "").empty()) << panel.dump();
    EXPECT_FALSE(panel.value("targets", nlohmann::json::array()).empty()) << panel["title"];
  }
}

TEST(ops_files, dashboard_queries_name_real_metrics) {
  auto known = families();
  auto d = dashboard();
  std::string queries;
  for (const auto& panel : d["panels"])
    for (const auto& target : panel.value("targets", nlohmann::json::array())) queries += target.value("expr", "") + "\n";
  for (const auto& variable : d["templating"]["list"]) queries += variable.value("definition", "") + "\n";

  auto names = metric_names(queries, known);
  EXPECT_GE(names.size(), 20u);
  for (const auto& name : names) EXPECT_TRUE(known.contains(name)) << name << " is not a metric of render()";
}

TEST(ops_files, alerts_name_real_metrics) {
  auto known = families();
  auto names = metric_names(read("deploy/prometheus/alerts.yml"), known);
  EXPECT_GE(names.size(), 6u);
  for (const auto& name : names) EXPECT_TRUE(known.contains(name)) << name << " is not a metric of render()";
}

}  // namespace
}  // namespace switchboard::metrics
