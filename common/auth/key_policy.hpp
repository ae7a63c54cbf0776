#pragma once
// Which keys a JWS may be signed and checked with here, in one place so
// that what token_signer signs a verifier accepts: an HMAC secret for
// HS256, an RSA key of min_rsa_bits or more for RS256, an EC key on P-256
// for ES256, and nothing else.

#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/types.h>

namespace switchboard::auth {

enum class jws_alg { hs256, rs256, es256 };

// The JWS name: "HS256", "RS256" or "ES256".
std::string_view to_string(jws_alg alg);

// Throws std::invalid_argument when an HS256 secret of `bytes` is shorter
// than min_hmac_secret_bytes.
void check_hmac_secret(std::size_t bytes);

// RS256 or ES256, by `key`'s type. Throws std::invalid_argument, its text
// starting with `role` ("public key", "private key"), for an RSA key that
// is too short, an EC key on another curve, or a key of another type.
jws_alg asymmetric_alg(EVP_PKEY* key, std::string_view role);

// OpenSSL's reason for its last failure, its error queue emptied, so that
// one failure leaves nothing behind for the next caller.
std::string take_openssl_error();

}  // namespace switchboard::auth
