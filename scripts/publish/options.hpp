#pragma once
// switchboard-publish's command line: where Redis is, the channel prefix,
// the one recipient, and the data (or none: then standard input).

#include <optional>
#include <stdexcept>
#include <string>

#include "common/protocol/frames.hpp"

namespace switchboard::publish {

// A bad command line; what() names the flag and why.
class options_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct options {
  bool help = false;
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string redis_name;  // redis_url for messages, without the password
  std::string channel_prefix = "sb:";
  protocol::scope scope{};
  std::string target;  // the room, user or connection id; empty for a broadcast
  // One message's JSON text; none: one message per line of standard input.
  std::optional<std::string> data;
};

// `redis_url_env`: REDIS_URL, used when --redis is not given (null: unset).
// Throws options_error.
options parse_options(int argc, const char* const argv[], const char* redis_url_env);

// The --help text.
std::string usage();

}  // namespace switchboard::publish
