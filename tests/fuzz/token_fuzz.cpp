// libFuzzer target: bytes through the JWT verifier and the room patterns.
// Whatever the bytes, verification must not crash, leak or throw, and what
// it accepts must satisfy PROTOCOL.md's rules for claims.
//
// The first byte picks what the rest is:
//   '0' (and every byte = 0 mod 3): a token, verified as it is;
//   '1' (= 1 mod 3): a header and a payload, split at the first newline,
//       signed here with the HS256 secret, so that the claim checks behind
//       the signature are reached although the fuzzer cannot forge a MAC;
//   '2' (= 2 mod 3): a pattern and a room, split at the first newline,
//       matched compiled and by definition, which must agree.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/auth/base64url.hpp"
#include "tests/support/jwt_fixture_keys.hpp"
#include "common/auth/pattern_set.hpp"
#include "common/auth/room_pattern.hpp"
#include "common/auth/verifier.hpp"
#include "common/protocol/request.hpp"

using namespace switchboard::auth;

namespace {

using switchboard::testing::cli_rsa_pem;
const std::string& secret = switchboard::testing::cli_secret;

// Between the seeds' nbf-free claims and their exp in 2100.
constexpr std::int64_t now = 1'700'000'000;

const verifier& the_verifier() {
  static const verifier v = [] {
    verifier_config config;
    config.hmac_secret = secret;
    config.public_key_pem = cli_rsa_pem;
    config.audience = "switchboard";
    return verifier(config);
  }();
  return v;
}

std::string sign_hs256(std::string_view header, std::string_view payload) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  return input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), size));
}

void check(std::string_view token) {
  auto result = the_verifier().verify(token, now);
  if (auto* reason = std::get_if<refusal>(&result)) {
    if (to_string(*reason) == "unknown") std::abort();
    return;
  }
  const auto& c = std::get<claims>(result);
  if (token.size() > max_token_bytes) std::abort();
  if (!switchboard::protocol::is_valid_room_name(c.sub)) std::abort();
  if (c.exp && *c.exp <= now - the_verifier().leeway_seconds()) std::abort();
  // The compiled permissions answer without trouble for the user's rooms.
  (void)c.grants.rooms.matches(c.sub);
  (void)c.grants.publish.matches("user:" + c.sub);
}

// The definition of a match, by dynamic programming over every split.
bool reference_match(std::string_view pattern, std::string_view room) {
  std::vector<char> at(room.size() + 1, 0), next(room.size() + 1, 0);
  at[0] = 1;
  for (char p : pattern) {
    for (std::size_t j = 0; j <= room.size(); ++j) {
      next[j] = p == '*' ? (at[j] || (j > 0 && next[j - 1])) : (j > 0 && at[j - 1] && room[j - 1] == p);
    }
    at.swap(next);
  }
  return at[room.size()] != 0;
}

std::pair<std::string_view, std::string_view> split(std::string_view text) {
  auto nl = text.find('\n');
  if (nl == std::string_view::npos) return {text, {}};
  return {text.substr(0, nl), text.substr(nl + 1)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: check(rest); break;
    case 1: {
      auto [header, payload] = split(rest);
      check(sign_hs256(header, payload));
      break;
    }
    default: {
      auto [pattern, room] = split(rest);
      // The DP is quadratic; rooms are at most 128 bytes anyway.
      if (pattern.size() > 512 || room.size() > 512) return 0;
      bool expected = reference_match(pattern, room);
      if (room_pattern(pattern).matches(room) != expected) std::abort();
      if (pattern_set({std::string(pattern)}).matches(room) != expected) std::abort();
      break;
    }
  }
  return 0;
}
