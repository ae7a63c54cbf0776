#include "common/redis/cluster_seeds.hpp"

#include "common/redis/host_list.hpp"

namespace switchboard::redis {
namespace {

constexpr std::string_view scheme = "cluster://";

std::optional<cluster_seeds> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

endpoint cluster_seeds::node(std::string host, std::uint16_t port) const {
  endpoint ep;
  ep.host = std::move(host);
  ep.port = port;
  ep.user = user;
  ep.password = password;
  return ep;
}

std::string cluster_seeds::describe() const { return std::string(scheme) + describe_hosts(nodes); }

std::optional<cluster_seeds> parse_cluster_url(std::string_view url, std::string* why) {
  auto parsed = parse_host_list_url(url, scheme, 6379, "node", why);
  if (!parsed) return std::nullopt;
  if (!parsed->path.empty() && parsed->path != "/")
    return reject(why, "a cluster has only database 0: no path");
  if (!parsed->params.empty()) return reject(why, "unknown parameter " + parsed->params.front().first);
  cluster_seeds seeds;
  seeds.user = std::move(parsed->user);
  seeds.password = std::move(parsed->password);
  for (const auto& host : parsed->hosts) seeds.nodes.push_back(seeds.node(host.host, host.port));
  return seeds;
}

}  // namespace switchboard::redis
