#include "tests/support/cluster_servers.hpp"

#include "tests/support/poll_until.hpp"

#include <sys/wait.h>

#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto settle_timeout = 30s;

// The text of `command` on `node`, or "" when it does not answer.
std::string answer(const redis_process& node, const std::vector<std::string>& command) {
  if (!node.running()) return {};
  try {
    return node.command(command);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

bool cluster_servers::available() {
  return redis_process::find_server("redis-server") && redis_process::find_server("redis-cli");
}

cluster_servers::cluster_servers() {
  for (int i = 0; i < 6; ++i) {
    // The bus port is named: the default, port + 10000, may be past 65535.
    nodes_.push_back(std::make_unique<redis_process>(redis_options{
        .extra_args = {"--cluster-enabled", "yes", "--cluster-node-timeout", std::to_string(node_timeout.count()),
                       "--cluster-port", std::to_string(free_tcp_port())}}));
  }
  std::vector<std::string> create{"--cluster", "create"};
  for (const auto& node : nodes_) create.push_back("127.0.0.1:" + std::to_string(node->port()));
  create.insert(create.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  if (!run_cli(create, "cluster-create.log")) throw std::runtime_error("redis-cli --cluster create failed");
  bool replicated = poll_until(
      [&] {
        int replicas = 0;
        for (const auto& node : nodes_)
          if (answer(*node, {"INFO", "replication"}).find("master_link_status:up") != std::string::npos) ++replicas;
        return replicas == 3;
      },
      settle_timeout);
  if (!replicated || !wait_healthy(settle_timeout)) throw std::runtime_error("the cluster did not settle in time");
}

std::string cluster_servers::url() const {
  std::string out = "cluster://";
  for (std::size_t i = 0; i < 3; ++i) {
    if (i != 0) out += ',';
    out += "127.0.0.1:" + std::to_string(nodes_[i]->port());
  }
  return out;
}

std::vector<redis_process*> cluster_servers::primaries() {
  std::vector<redis_process*> out;
  for (const auto& node : nodes_)
    if (answer(*node, {"INFO", "replication"}).find("role:master") != std::string::npos) out.push_back(node.get());
  return out;
}

redis_process* cluster_servers::owner(std::uint16_t slot) {
  for (const auto& node : nodes_) {
    if (!node->running()) continue;
    for (const auto& [address, ranges] : primary_view(*node)) {
      for (const auto& [first, last] : ranges) {
        if (slot < first || slot > last) continue;
        for (const auto& candidate : nodes_)
          if (candidate->running() && address == "127.0.0.1:" + std::to_string(candidate->port())) return candidate.get();
        return nullptr;
      }
    }
    return nullptr;
  }
  return nullptr;
}

bool cluster_servers::wait_healthy(std::chrono::milliseconds timeout) {
  return poll_until(
      [&] {
        std::optional<view> agreed;
        for (const auto& node : nodes_) {
          if (!node->running()) continue;
          if (answer(*node, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) return false;
          auto seen = primary_view(*node);
          if (seen.empty() || (agreed && seen != *agreed)) return false;
          agreed = std::move(seen);
        }
        return agreed.has_value();
      },
      timeout);
}

cluster_servers::view cluster_servers::primary_view(const redis_process& node) {
  view out;
  std::istringstream lines(answer(node, {"CLUSTER", "NODES"}));
  std::string line;
  while (std::getline(lines, line)) {
    // <id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...
    std::istringstream fields(line);
    std::string id, address, flags, skip;
    fields >> id >> address >> flags;
    for (int i = 0; i < 5; ++i) fields >> skip;
    if (flags.find("master") == std::string::npos || flags.find("fail") != std::string::npos) continue;
    address = address.substr(0, address.find('@'));
    std::string range;
    while (fields >> range) {
      if (range.front() == '[') continue;  // a slot being migrated or imported
      auto dash = range.find('-');
      int first = std::stoi(range.substr(0, dash));
      int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
      out[address].emplace_back(first, last);
    }
  }
  return out;
}

bool cluster_servers::run_cli(const std::vector<std::string>& args, const std::string& log) {
  auto cli = redis_process::find_server("redis-cli");
  if (!cli) return false;
  std::vector<std::string> argv{*cli};
  argv.insert(argv.end(), args.begin(), args.end());
  auto path = nodes_.front()->log_path().parent_path() / log;
  child_process run(argv, path, path);
  auto status = run.wait_for(60s);
  if (!status) run.stop(1s);
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

}  // namespace switchboard::testing
