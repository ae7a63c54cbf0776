#pragma once
// Why a token was not accepted. The reasons are for logs and metrics only:
// a client gets the same 401 (or `forbidden` on refresh) whatever the reason,
// so that a forger learns nothing from the answer.

#include <cstddef>
#include <string_view>

namespace switchboard::auth {

enum class refusal {
  missing,          // no token, or an empty one
  too_large,        // over max_token_bytes, refused before parsing
  malformed,        // not three base64url parts of JSON objects, or a claim of the wrong type
  bad_signature,    // the signature does not verify with the configured key
  unsupported_alg,  // `none`, an algorithm this server does not take, or one whose key is not configured
  expired,          // `exp` plus the leeway has passed
  not_yet_valid,    // `nbf` minus the leeway is still ahead
  bad_issuer,       // `iss` missing or not the configured issuer
  bad_audience,     // `aud` missing or not naming the configured audience
  bad_subject,      // `sub` missing, empty, over 128 bytes or with control characters
};

// One past the last reason: metrics counts refused upgrades by reason,
// labelled with to_string. refusal.cpp checks that it matches the enum.
inline constexpr std::size_t refusal_count = 10;

// constexpr so that metrics can build its labels at compile time; the
// switch has no default and -Wswitch is an error here.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr std::string_view to_string(refusal reason) {
  switch (reason) {
    case refusal::missing: return "missing";
    case refusal::too_large: return "too_large";
    case refusal::malformed: return "malformed";
    case refusal::bad_signature: return "bad_signature";
    case refusal::unsupported_alg: return "unsupported_alg";
    case refusal::expired: return "expired";
    case refusal::not_yet_valid: return "not_yet_valid";
    case refusal::bad_issuer: return "bad_issuer";
    case refusal::bad_audience: return "bad_audience";
    case refusal::bad_subject: return "bad_subject";
  }
  return "unknown";
}
#pragma GCC diagnostic pop

}  // namespace switchboard::auth
