#pragma once
// Why a token was not accepted. The reasons are for logs and metrics only:
// a client gets the same 401 (or `forbidden` on refresh) whatever the reason,
// so that a forger learns nothing from the answer.

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

std::string_view to_string(refusal reason);

}  // namespace switchboard::auth
