#pragma once
// The admission step of an upgrade to /ws (PROTOCOL.md, "Identity and
// auth"): the Origin against the allow-list (403), then, when a key is
// configured, the JWT from `Authorization: Bearer` or else `?token=` (401).
// A `refresh` brings its token here too. It reads the request and answers;
// the HTTP session sends the answer. The one thing it keeps is the worker's
// shared copies of the tokens' grants.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/auth/pattern_set.hpp"
#include "common/auth/permission_cache.hpp"
#include "common/auth/verifier.hpp"
#include "common/config.hpp"
#include "common/net.hpp"

namespace switchboard {

// Who a connection is and what it may do.
struct identity {
  std::string user;  // the token's `sub`; empty for an anonymous connection
  // Null for an anonymous connection, which may do everything.
  std::shared_ptr<const auth::permissions> grants;
  // Seconds since the epoch at which the connection is closed with 4001
  // (exp plus the leeway); none when the token has no exp.
  std::optional<std::int64_t> deadline;
};

// Kept out: the status and a short reason for the body; never the token.
struct turned_away {
  http::status status;
  std::string reason;
  std::optional<auth::refusal> token_refusal;  // why, when it was the token
};

class admission {
 public:
  explicit admission(const config& cfg);

  bool auth_enabled() const { return verifier_.has_value(); }
  // `now_seconds`: seconds since the epoch, for exp and nbf.
  std::variant<identity, turned_away> admit(const http::request<http::string_body>& req, std::int64_t now_seconds);
  // The identity a valid token gives. Only with auth enabled.
  std::variant<identity, auth::refusal> verify(std::string_view token, std::int64_t now_seconds);

 private:
  std::optional<auth::verifier> verifier_;
  auth::permission_cache grants_;
  auth::pattern_set origins_;  // the allow-list, with `*` patterns
  bool any_origin_ = true;     // no allow-list configured
};

}  // namespace switchboard
