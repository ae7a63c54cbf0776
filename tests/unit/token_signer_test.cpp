#include "common/auth/token_signer.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/auth/base64url.hpp"
#include "common/auth/verifier.hpp"

namespace switchboard::auth {
namespace {

using json = nlohmann::json;

// The tests' clock, as in the verifier's tests.
constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "a token_signer secret of more than 32 bytes";
const std::string alice = json{{"sub", "alice"}, {"exp", now + 60}}.dump();

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using pkey = std::unique_ptr<EVP_PKEY, pkey_free>;

enum class pem_form { pkcs8, traditional, public_half, encrypted };

std::string pem_of(EVP_PKEY* key, pem_form form) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  static const std::string passphrase = "passphrase";
  switch (form) {
    case pem_form::pkcs8: PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr); break;
    case pem_form::traditional:
      PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
      break;
    case pem_form::public_half: PEM_write_bio_PUBKEY(bio.get(), key); break;
    case pem_form::encrypted:
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase.data(),
                                    static_cast<int>(passphrase.size()), nullptr, nullptr);
      break;
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// Keys are made once: RSA key generation takes a while.
struct test_keys {
  pkey rsa{EVP_RSA_gen(2048)};
  pkey ec{EVP_EC_gen("P-256")};
};
const test_keys& keys() {
  static const test_keys made;
  return made;
}

verifier all_keys() {
  verifier_config config;
  config.hmac_secret = secret;
  config.public_key_pem =
      pem_of(keys().rsa.get(), pem_form::public_half) + pem_of(keys().ec.get(), pem_form::public_half);
  return verifier(config);
}

std::string verdict(const verifier& v, const std::string& token) {
  auto result = v.verify(token, now);
  if (auto* c = std::get_if<claims>(&result)) return "accepted " + c->sub;
  return std::string(to_string(std::get<refusal>(result)));
}

json header_of(const std::string& token) { return json::parse(*base64url_decode(token.substr(0, token.find('.')))); }

std::size_t signature_bytes(const std::string& token) {
  return base64url_decode(token.substr(token.rfind('.') + 1))->size();
}

// The invalid_argument's text, or "made".
template <typename F>
std::string refusal_of(F make) {
  try {
    make();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "made";
}

TEST(TokenSigner, SignsWhatTheVerifierAccepts) {
  const verifier v = all_keys();
  const token_signer hs = token_signer::hs256(secret);
  EXPECT_EQ(hs.alg(), jws_alg::hs256);
  EXPECT_EQ(verdict(v, hs.sign(alice)), "accepted alice");
  EXPECT_EQ(header_of(hs.sign(alice)), json({{"alg", "HS256"}, {"typ", "JWT"}}));

  for (EVP_PKEY* key : {keys().rsa.get(), keys().ec.get()}) {
    for (pem_form form : {pem_form::pkcs8, pem_form::traditional}) {
      const token_signer signer = token_signer::from_private_key_pem(pem_of(key, form));
      const bool rsa = key == keys().rsa.get();
      EXPECT_EQ(signer.alg(), rsa ? jws_alg::rs256 : jws_alg::es256);
      const std::string token = signer.sign(alice);
      EXPECT_EQ(verdict(v, token), "accepted alice");
      EXPECT_EQ(header_of(token)["alg"], rsa ? "RS256" : "ES256");
      // RS256: one 2048-bit number; ES256: r and s of 32 bytes each, not DER.
      EXPECT_EQ(signature_bytes(token), rsa ? 256u : 64u);
    }
  }
}

TEST(TokenSigner, EverySignatureIsChecked) {
  const verifier v = all_keys();
  const token_signer es = token_signer::from_private_key_pem(pem_of(keys().ec.get(), pem_form::pkcs8));
  // ECDSA signs with a fresh nonce: many signatures, each accepted.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(verdict(v, es.sign(alice)), "accepted alice");
  std::string token = token_signer::hs256(secret).sign(alice);
  token[token.find('.') + 2] ^= 0x01;  // a payload character
  EXPECT_NE(verdict(v, token), "accepted alice");
}

TEST(TokenSigner, AnotherHeaderAlgKeepsTheKeysSignature) {
  const verifier v = all_keys();
  const token_signer hs = token_signer::hs256(secret);
  const std::string none = hs.sign(alice, "none");
  EXPECT_EQ(header_of(none), json({{"alg", "none"}, {"typ", "JWT"}}));
  EXPECT_EQ(verdict(v, none), "unsupported_alg");
  EXPECT_EQ(signature_bytes(none), 32u);
  // A quote in the name stays inside the JSON string.
  EXPECT_EQ(header_of(hs.sign(alice, "HS\"256"))["alg"], "HS\"256");
}

TEST(TokenSigner, RefusesKeysNoVerifierAccepts) {
  EXPECT_EQ(refusal_of([] { token_signer::hs256("short"); }),
            "HMAC secret is 5 bytes; HS256 needs at least 32 (RFC 7518, 3.2)");
  EXPECT_EQ(refusal_of([] { token_signer::from_private_key_pem(pem_of(keys().rsa.get(), pem_form::public_half)); }),
            "private key: no \"-----BEGIN PRIVATE KEY-----\" block in the PEM text");
  EXPECT_EQ(refusal_of([] { token_signer::from_private_key_pem(pem_of(keys().ec.get(), pem_form::encrypted)); }),
            "private key: the key is encrypted; decrypt it first (openssl pkey -in key.pem)");
  EXPECT_NE(refusal_of([] { token_signer::from_private_key_pem("-----BEGIN PRIVATE KEY-----\nnot base64\n"); }),
            "made");

  const pkey small(EVP_RSA_gen(1024));
  EXPECT_EQ(refusal_of([&] { token_signer::from_private_key_pem(pem_of(small.get(), pem_form::pkcs8)); }),
            "private key: RSA key of 1024 bits; RS256 needs at least 2048 (RFC 7518, 3.3)");
  const pkey p384(EVP_EC_gen("P-384"));
  EXPECT_EQ(refusal_of([&] { token_signer::from_private_key_pem(pem_of(p384.get(), pem_form::pkcs8)); }),
            "private key: EC key on curve secp384r1; ES256 needs P-256 (prime256v1)");
  const pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(refusal_of([&] { token_signer::from_private_key_pem(pem_of(ed.get(), pem_form::pkcs8)); }),
            "private key: a key of type ED25519; only RSA (RS256) and EC P-256 (ES256) keys are supported");
}

}  // namespace
}  // namespace switchboard::auth
