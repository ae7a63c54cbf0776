#pragma once
// One compiled copy of each distinct set of grants per worker. Tokens are
// minted from a few roles, so thousands of connections carry the same
// `rooms` and `publish` patterns: each session holds a shared pointer (16
// bytes) instead of its own pattern vectors (a few hundred bytes), which is
// what keeps idle memory per connection flat with auth on.

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/auth/claims.hpp"

namespace switchboard::auth {

class permission_cache {
 public:
  // The shared copy of `verified`'s grants, made from them (moved out) when
  // no live connection has the same ones.
  std::shared_ptr<const permissions> share(claims& verified);

  // Distinct grants held by a live connection, for tests.
  std::size_t size() const;

 private:
  // Drops the entries no connection holds any more. Run when the map has
  // doubled since the last purge, so its cost per share() stays constant.
  void purge();

  std::unordered_map<std::string, std::weak_ptr<const permissions>> entries_;
  std::size_t purge_at_ = 64;
};

}  // namespace switchboard::auth
