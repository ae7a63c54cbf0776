#pragma once
// Checks a client's JWT (RFC 7519, compact JWS) and turns it into the
// connection's claims, or into the reason it was refused (PROTOCOL.md,
// "Identity and auth", "Permissions", "Token lifetime"). Pure: the caller
// says what time it is, nothing is read from the clock, the network or the
// disk, so one verifier serves every connection of a worker.
//
// Keys decide the algorithms: an HMAC secret allows HS256, an RSA public key
// RS256, a P-256 public key ES256, and nothing else is ever accepted. The
// token's `alg` only picks among the configured keys, so an RSA public key
// can never be used as an HMAC secret (the algorithm confusion of
// CVE-2015-9235) and `none` has no key to pick.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <openssl/types.h>

#include "common/auth/openssl_handles.hpp"

#include "common/auth/claims.hpp"
#include "common/auth/refusal.hpp"

namespace switchboard::auth {

// PROTOCOL.md: a longer token is refused before it is parsed. Request
// headers are read up to 16 KiB, so such a token still gets its 401.
inline constexpr std::size_t max_token_bytes = 8 * 1024;

// RFC 7518, 3.2: an HS256 key at least as long as the hash. A shorter one is
// a password, and an offline search through a captured token finds it.
inline constexpr std::size_t min_hmac_secret_bytes = 32;

// RFC 7518, 3.3: RS256 keys of 2048 bits or more.
inline constexpr int min_rsa_bits = 2048;

struct verifier_config {
  // HS256's shared secret, as bytes. Empty: HS256 tokens are refused.
  std::string hmac_secret;
  // SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"), one or two
  // blocks: at most one RSA key (RS256) and one P-256 key (ES256). Empty:
  // RS256 and ES256 tokens are refused.
  std::string public_key_pem;
  // Allowed drift between the issuer's clock and ours, applied to `exp` and
  // `nbf`. 30 s (PROTOCOL.md's default) covers NTP-synchronised hosts many
  // times over and lets a token live at most half a minute too long.
  std::int64_t leeway_seconds = 30;
  // When set, `iss` must equal it.
  std::optional<std::string> issuer;
  // When set, `aud` must be it or an array holding it.
  std::optional<std::string> audience;
};

using verify_result = std::variant<claims, refusal>;

class verifier {
 public:
  // Throws std::invalid_argument, saying what is wrong, when there is no key
  // at all, the secret is too short, the PEM text cannot be read or is not a
  // public key, a key is not RSA of 2048+ bits or EC on P-256, two keys are
  // of one kind, or the leeway is negative.
  explicit verifier(verifier_config config);
  ~verifier();
  verifier(verifier&&) noexcept;
  verifier& operator=(verifier&&) noexcept;

  // `now_seconds`: seconds since the epoch. Never throws on any input.
  verify_result verify(std::string_view token, std::int64_t now_seconds) const;

  std::int64_t leeway_seconds() const noexcept { return config_.leeway_seconds; }

 private:
  void load_public_keys(std::string_view pem);
  // Splits the token, checks its header and its signature with the key its
  // alg names; on success `payload_text` is the decoded payload.
  std::optional<refusal> check_signed(std::string_view token, std::string& payload_text) const;

  verifier_config config_;  // public_key_pem cleared once loaded
  pkey_ptr rsa_key_;
  pkey_ptr ec_key_;
};

}  // namespace switchboard::auth
