#include "tests/support/jwt_mint.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

#include "common/auth/base64url.hpp"

namespace switchboard::testing {

std::string mint_hs256(const nlohmann::json& claims, const std::string& secret, const std::string& alg) {
  std::string input = auth::base64url_encode(nlohmann::json{{"alg", alg}, {"typ", "JWT"}}.dump()) + "." +
                      auth::base64url_encode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  return input + "." + auth::base64url_encode(std::string(reinterpret_cast<const char*>(mac), size));
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace switchboard::testing
