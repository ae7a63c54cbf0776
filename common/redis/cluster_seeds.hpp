#pragma once
// A Redis Cluster as --redis names it:
// "cluster://[[user]:password@]host:port[,host:port...]". The nodes listed
// are where the slot map is first asked for; any one of them answering is
// enough. The user and password are every node's. A cluster has only
// database 0, so there is no path and no db.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/endpoint.hpp"

namespace switchboard::redis {

struct cluster_seeds {
  std::vector<endpoint> nodes;  // host and port, with the user and password
  std::string user;
  std::string password;

  // An endpoint of the cluster at host:port, with its user and password.
  endpoint node(std::string host, std::uint16_t port) const;
  std::string describe() const;  // for logs, without the password
};

// nullopt and a reason in `why` when the URL is not of that form.
std::optional<cluster_seeds> parse_cluster_url(std::string_view url, std::string* why = nullptr);

}  // namespace switchboard::redis
