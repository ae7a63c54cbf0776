#include "tests/support/jwt_mint.hpp"

#include <chrono>

#include "common/auth/token_signer.hpp"

namespace switchboard::testing {

std::string mint_hs256(const nlohmann::json& claims, const std::string& secret, const std::string& alg) {
  return auth::token_signer::hs256(secret).sign(claims.dump(), alg);
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace switchboard::testing
