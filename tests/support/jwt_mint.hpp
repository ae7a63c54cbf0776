#pragma once
// Mints HS256 tokens for tests that connect with auth: the claims as given,
// signed by common/auth/token_signer (the load tester mints with it too).

#include <string>

#include <nlohmann/json.hpp>

namespace switchboard::testing {

// A secret long enough for HS256 (32 bytes or more).
inline const std::string test_auth_secret = "integration-test-secret-0123456789abcdef";

// header.payload.signature for `claims`; `alg` goes into the header as is
// (the signature is HS256's whatever it says, to test refusals). Throws
// std::invalid_argument for a secret shorter than 32 bytes, which no
// verifier accepts.
std::string mint_hs256(const nlohmann::json& claims, const std::string& secret = test_auth_secret,
                       const std::string& alg = "HS256");

// Seconds since the epoch, now.
long long unix_now();

}  // namespace switchboard::testing
