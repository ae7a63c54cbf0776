#include "tests/support/sentinel_servers.hpp"

#include "tests/support/poll_until.hpp"

#include <stdexcept>
#include <thread>

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

// Sentinels find each other through hello messages every 2 s and the
// replica through the primary's INFO: settled within a few seconds.
constexpr auto settle_timeout = 20s;

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

}  // namespace

bool sentinel_servers::available() {
  return redis_process::find_server("redis-server") && redis_process::find_server("redis-sentinel");
}

sentinel_servers::sentinel_servers(sentinel_options options) {
  servers_.push_back(std::make_unique<redis_process>());
  const std::string primary_port = std::to_string(servers_[0]->port());
  servers_.push_back(std::make_unique<redis_process>(
      redis_options{.extra_args = {"--replicaof", "127.0.0.1", primary_port}}));
  if (!poll_until([&] { return servers_[1]->command({"INFO", "replication"}).find("master_link_status:up") !=
                               std::string::npos; },
                  settle_timeout))
    throw std::runtime_error("the replica did not sync with the primary");

  const std::string down_after = std::to_string(options.down_after.count());
  for (int i = 0; i < 3; ++i) {
    sentinels_.push_back(std::make_unique<redis_process>(redis_options{.sentinel_config = {
        std::string("sentinel monitor ") + master_name + " 127.0.0.1 " + primary_port + " 2",
        std::string("sentinel down-after-milliseconds ") + master_name + " " + down_after,
        std::string("sentinel failover-timeout ") + master_name + " 10000",
        std::string("sentinel parallel-syncs ") + master_name + " 1",
    }}));
  }
  if (!poll_until([&] { return settled(); }, settle_timeout))
    throw std::runtime_error("the sentinels did not find the replica and each other in time");
}

bool sentinel_servers::settled() const {
  for (const auto& sentinel : sentinels_) {
    std::string replicas = sentinel->command({"SENTINEL", "replicas", master_name});
    std::string peers = sentinel->command({"SENTINEL", "sentinels", master_name});
    if (count_of(replicas, "flags, slave,") != 1 || count_of(peers, "flags, sentinel,") != 2) return false;
  }
  return true;
}

std::string sentinel_servers::url() const {
  std::string out = "sentinel://";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    if (i != 0) out += ',';
    out += "127.0.0.1:" + std::to_string(sentinels_[i]->port());
  }
  return out + "/" + master_name;
}

std::uint16_t sentinel_servers::primary_port(int i) const {
  try {
    // "[127.0.0.1, <port>]"
    std::string answer = sentinels_[static_cast<std::size_t>(i)]->command(
        {"SENTINEL", "get-master-addr-by-name", master_name});
    auto comma = answer.find(", ");
    if (comma == std::string::npos) return 0;
    return static_cast<std::uint16_t>(std::stoi(answer.substr(comma + 2)));
  } catch (const std::exception&) {
    return 0;
  }
}

redis_process& sentinel_servers::primary() {
  std::uint16_t port = primary_port();
  for (auto& server : servers_)
    if (server->port() == port) return *server;
  throw std::runtime_error("sentinel 0 names no server of this deployment as the primary");
}

bool sentinel_servers::wait_primary(std::uint16_t port, std::chrono::milliseconds timeout) {
  return poll_until(
      [&] {
        for (int i = 0; i < sentinel_count(); ++i)
          if (primary_port(i) != port) return false;
        return true;
      },
      timeout);
}

}  // namespace switchboard::testing
