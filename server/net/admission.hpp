#pragma once
// The admission step of an upgrade to /ws (PROTOCOL.md, "Identity and
// auth"): the Origin against the allow-list (403), then, when a key is
// configured, the JWT from `Authorization: Bearer` or else `?token=` (401).
// Pure: it reads the request and answers; the HTTP session sends the answer.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/auth/pattern_set.hpp"
#include "common/auth/verifier.hpp"
#include "common/config.hpp"
#include "common/net.hpp"

namespace switchboard {

// Let in: `user` is the token's `sub`, empty for an anonymous connection.
struct admitted {
  std::string user;
};

// Kept out: the status and a short reason for the body; never the token.
struct turned_away {
  http::status status;
  std::string reason;
};

class admission {
 public:
  explicit admission(const config& cfg);

  bool auth_enabled() const { return verifier_.has_value(); }
  // `now_seconds`: seconds since the epoch, for exp and nbf.
  std::variant<admitted, turned_away> admit(const http::request<http::string_body>& req,
                                            std::int64_t now_seconds) const;

 private:
  std::optional<auth::verifier> verifier_;
  auth::pattern_set origins_;  // the allow-list, with `*` patterns
  bool any_origin_ = true;     // no allow-list configured
};

}  // namespace switchboard
