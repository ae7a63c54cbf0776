#include "common/auth/key_policy.hpp"

#include <array>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "common/auth/verifier.hpp"

namespace switchboard::auth {

std::string_view to_string(jws_alg alg) {
  switch (alg) {
    case jws_alg::hs256: return "HS256";
    case jws_alg::rs256: return "RS256";
    case jws_alg::es256: return "ES256";
  }
  return "unknown";
}

void check_hmac_secret(std::size_t bytes) {
  if (bytes < min_hmac_secret_bytes) {
    throw std::invalid_argument("HMAC secret is " + std::to_string(bytes) + " bytes; HS256 needs at least " +
                                std::to_string(min_hmac_secret_bytes) + " (RFC 7518, 3.2)");
  }
}

jws_alg asymmetric_alg(EVP_PKEY* key, std::string_view role) {
  const std::string what(role);
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < min_rsa_bits) {
      throw std::invalid_argument(what + ": RSA key of " + std::to_string(bits) + " bits; RS256 needs at least " +
                                  std::to_string(min_rsa_bits) + " (RFC 7518, 3.3)");
    }
    return jws_alg::rs256;
  }
  if (type == EVP_PKEY_EC) {
    std::array<char, 64> group{};
    std::size_t group_size = 0;
    if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_size) != 1) {
      throw std::invalid_argument(what + ": EC key without a named curve; ES256 needs P-256");
    }
    const std::string_view curve(group.data(), group_size);
    if (curve != SN_X9_62_prime256v1 && curve != "P-256") {
      throw std::invalid_argument(what + ": EC key on curve " + std::string(curve) + "; ES256 needs P-256 (prime256v1)");
    }
    return jws_alg::es256;
  }
  const char* name = EVP_PKEY_get0_type_name(key);
  throw std::invalid_argument(what + ": a key of type " + (name ? name : "unknown") +
                              "; only RSA (RS256) and EC P-256 (ES256) keys are supported");
}

std::string take_openssl_error() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  ERR_clear_error();
  return reason ? reason : "unknown error";
}

}  // namespace switchboard::auth
