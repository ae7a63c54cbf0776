#pragma once
// A Redis Sentinel group as --redis names it:
// "sentinel://[[user]:password@]host:port[,host:port...]/<master name>[?db=N&sentinel_password=...]".
// The user and password are the primary's; sentinel_password, if any, is
// the sentinels' own (their requirepass).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/endpoint.hpp"

namespace switchboard::redis {

struct sentinel_group {
  // Redis Sentinel's own default port.
  static constexpr std::uint16_t default_port = 26379;

  std::vector<endpoint> sentinels;  // host, port and the sentinels' password
  std::string master_name;
  // What a connection to the primary needs besides its address: user,
  // password, db, and primary_only set.
  endpoint primary;

  std::string describe() const;  // for logs, without passwords
};

// nullopt and a reason in `why` when the URL is not of that form.
std::optional<sentinel_group> parse_sentinel_url(std::string_view url, std::string* why = nullptr);

}  // namespace switchboard::redis
