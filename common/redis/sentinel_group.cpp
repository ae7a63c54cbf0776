#include "common/redis/sentinel_group.hpp"

#include "common/redis/host_list.hpp"

namespace switchboard::redis {
namespace {

constexpr std::string_view scheme = "sentinel://";

std::optional<sentinel_group> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::string sentinel_group::describe() const {
  std::string out(scheme);
  out += describe_hosts(sentinels);
  out += "/" + master_name;
  if (primary.db != 0) out += "?db=" + std::to_string(primary.db);
  return out;
}

std::optional<sentinel_group> parse_sentinel_url(std::string_view url, std::string* why) {
  auto parsed = parse_host_list_url(url, scheme, sentinel_group::default_port, "sentinel", why);
  if (!parsed) return std::nullopt;
  sentinel_group group;
  group.primary.primary_only = true;
  group.primary.user = std::move(parsed->user);
  group.primary.password = std::move(parsed->password);
  const std::string& path = parsed->path;
  if (path.size() < 2 || path.find('/', 1) != std::string::npos)
    return reject(why, "path must be /<master name>");
  group.master_name = path.substr(1);
  std::string sentinel_password;
  for (const auto& [key, value] : parsed->params) {
    if (key == "db") {
      if (!parse_db_number(value, group.primary.db)) return reject(why, "db must be a non-negative integer");
    } else if (key == "sentinel_password") {
      sentinel_password = value;
    } else {
      return reject(why, "unknown parameter " + key);
    }
  }
  for (auto& sentinel : parsed->hosts) {
    sentinel.password = sentinel_password;
    group.sentinels.push_back(std::move(sentinel));
  }
  return group;
}

}  // namespace switchboard::redis
