#pragma once
// Signs JWTs (RFC 7519, compact JWS) with one key, the other half of
// verifier: an HMAC secret signs HS256, an RSA private key RS256, a P-256
// private key ES256. The server never signs; its clients do: the tests mint
// their tokens with it and the load tester gives each connection its own.

#include <memory>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "common/auth/openssl_handles.hpp"

#include "common/auth/key_policy.hpp"

namespace switchboard::auth {

class token_signer {
 public:
  // Throws std::invalid_argument when `secret` is shorter than
  // min_hmac_secret_bytes: a verifier refuses such a key, so tokens signed
  // with it could never be accepted.
  static token_signer hs256(std::string secret);

  // RS256 or ES256, whichever the key is. `pem`: one unencrypted private key,
  // PKCS#8 ("BEGIN PRIVATE KEY") or the older "BEGIN RSA/EC PRIVATE KEY".
  // Throws std::invalid_argument, saying why, when there is no such key, the
  // key is encrypted, an RSA key has fewer than min_rsa_bits bits, or an EC
  // key is not on P-256: a verifier would refuse the matching public key.
  static token_signer from_private_key_pem(std::string_view pem);

  ~token_signer();
  token_signer(token_signer&&) noexcept;
  token_signer& operator=(token_signer&&) noexcept;

  jws_alg alg() const noexcept { return alg_; }

  // header.payload.signature, with the header {"alg":"<alg>","typ":"JWT"}.
  // `payload` is signed as given (JSON text, not checked here). Throws
  // std::runtime_error only if OpenSSL fails to sign.
  std::string sign(std::string_view payload) const;

  // The same with `header_alg` in the header instead of this key's own
  // name, for tests of refusals: the signature is still this key's.
  std::string sign(std::string_view payload, std::string_view header_alg) const;

 private:
  token_signer(jws_alg alg, std::string secret, pkey_ptr key);

  // The JWS signature of `input` (the encoded header "." payload), raw bytes.
  std::string signature_of(std::string_view input) const;

  jws_alg alg_;
  std::string secret_;  // HS256
  pkey_ptr key_;        // RS256, ES256
};

}  // namespace switchboard::auth
