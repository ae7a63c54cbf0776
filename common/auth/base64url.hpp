#pragma once
// base64url without padding (RFC 4648 section 5), as JWS uses it
// (RFC 7515 section 2). OpenSSL does the decoding; this adds the URL
// alphabet and the strictness a signature check needs.

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::auth {

// The bytes `text` encodes, or nothing when it is not canonical base64url:
// a character outside [A-Za-z0-9_-], padding, a length of 4n+1, or unused
// low bits that are not zero. Strict, so that one token has one spelling
// and a changed character always changes the decoded bytes.
std::optional<std::string> base64url_decode(std::string_view text);

std::string base64url_encode(std::string_view bytes);

}  // namespace switchboard::auth
