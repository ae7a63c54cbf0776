#pragma once
// Where the Redis primary is now. Every connection of the client and the
// pool asks its locator before each connect, so a topology whose primary
// moves (Sentinel) needs a locator of its own and nothing else. The
// static one answers the configured endpoint.

#include <memory>
#include <string>
#include <utility>

#include "common/net.hpp"
#include "common/redis/endpoint.hpp"

namespace switchboard::redis {

class locator {
 public:
  virtual ~locator() = default;
  // The endpoint to connect to, or errc::unavailable when none is known.
  virtual asio::awaitable<std::pair<error_code, endpoint>> locate() = 0;
  // What it points at, for logs, without a password.
  virtual std::string describe() const = 0;
};

// A locator that always answers `where`.
std::shared_ptr<locator> fixed_locator(endpoint where);

}  // namespace switchboard::redis
