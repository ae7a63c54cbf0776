#pragma once
// Where Redis is: "redis://[[user]:password@]host[:port][/db]" or
// "unix:///path/to/redis.sock[?db=N]".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::redis {

struct endpoint {
  std::string host;          // empty for a unix socket
  std::uint16_t port = 6379;
  std::string socket_path;   // set for a unix socket
  std::string user;
  std::string password;
  int db = 0;

  bool is_unix() const { return !socket_path.empty(); }
  std::string describe() const;  // for logs, without the password
};

// nullopt and a reason in `why` when the URL is not one of the two forms.
std::optional<endpoint> parse_endpoint(std::string_view url, std::string* why = nullptr);

}  // namespace switchboard::redis
