#pragma once
// A URL that names several servers, as sentinel:// and cluster:// do:
// "<scheme>[[user]:password@]host[:port][,host[:port]...][/path][?query]".
// A URL can only have one host, so Boost.URL reads it with the first host
// standing in for the list (userinfo, path, query) and each host of the
// list as an authority of its own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/redis/endpoint.hpp"

namespace switchboard::redis {

struct host_list_url {
  std::vector<endpoint> hosts;  // host and port only
  std::string user;
  std::string password;
  std::string path;  // decoded; empty or starting with '/'
  std::vector<std::pair<std::string, std::string>> params;
};

// `noun` names one host in the reasons ("sentinel", "node"); nullopt and a
// reason in `why` when the URL is not of that form.
std::optional<host_list_url> parse_host_list_url(std::string_view url, std::string_view scheme,
                                                 std::uint16_t default_port, std::string_view noun,
                                                 std::string* why);

// "host:port,host:port" of `hosts`, for logs.
std::string describe_hosts(const std::vector<endpoint>& hosts);

}  // namespace switchboard::redis
