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
  // Set for a primary found through Sentinel: the connect confirms with
  // ROLE that the server is a primary, and a READONLY reply later means it
  // has been demoted.
  bool primary_only = false;

  bool is_unix() const { return !socket_path.empty(); }
  std::string describe() const;  // for logs, without the password
};

// nullopt and a reason in `why` when the URL is not one of the two forms.
std::optional<endpoint> parse_endpoint(std::string_view url, std::string* why = nullptr);
// A database number as the URLs write it: a non-negative decimal integer.
bool parse_db_number(std::string_view text, int& db);

}  // namespace switchboard::redis
