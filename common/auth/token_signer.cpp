#include "common/auth/token_signer.hpp"

#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/auth/base64url.hpp"

namespace switchboard::auth {
namespace {

// JWS ES256 (RFC 7518, 3.4): r and s as two 32-byte big-endian numbers.
constexpr int es256_half_bytes = 32;

// A passphrase callback that has none: an encrypted key fails to load
// instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

// OpenSSL signs ECDSA in DER; JWS carries r||s.
std::string der_to_jose(const unsigned char* der, std::size_t size) {
  ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(size)));
  if (!sig) throw std::runtime_error("ES256: " + take_openssl_error());
  std::string raw(2 * es256_half_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, es256_half_bytes) != es256_half_bytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + es256_half_bytes, es256_half_bytes) != es256_half_bytes) {
    throw std::runtime_error("ES256: signature does not fit 64 bytes");
  }
  return raw;
}

}  // namespace

token_signer::token_signer(jws_alg alg, std::string secret, pkey_ptr key)
    : alg_(alg), secret_(std::move(secret)), key_(std::move(key)) {}

token_signer::~token_signer() = default;
token_signer::token_signer(token_signer&&) noexcept = default;
token_signer& token_signer::operator=(token_signer&&) noexcept = default;

token_signer token_signer::hs256(std::string secret) {
  check_hmac_secret(secret.size());
  return token_signer(jws_alg::hs256, std::move(secret), nullptr);
}

token_signer token_signer::from_private_key_pem(std::string_view pem) {
  if (pem.find("PRIVATE KEY-----") == std::string_view::npos) {
    throw std::invalid_argument("private key: no \"-----BEGIN PRIVATE KEY-----\" block in the PEM text");
  }
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    throw std::invalid_argument("private key: the key is encrypted; decrypt it first (openssl pkey -in key.pem)");
  }
  ERR_clear_error();
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::invalid_argument("private key: " + take_openssl_error());
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) throw std::invalid_argument("private key: " + take_openssl_error());

  const jws_alg alg = asymmetric_alg(key.get(), "private key");
  return token_signer(alg, {}, std::move(key));
}

std::string token_signer::sign(std::string_view payload) const { return sign(payload, to_string(alg_)); }

std::string token_signer::sign(std::string_view payload, std::string_view header_alg) const {
  // The header through the JSON library, so that any header_alg a test
  // passes stays well-formed JSON.
  const std::string header = nlohmann::json{{"alg", header_alg}, {"typ", "JWT"}}.dump();
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  const std::string signature = signature_of(input);
  return input + "." + base64url_encode(signature);
}

std::string token_signer::signature_of(std::string_view input) const {
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (alg_ == jws_alg::hs256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), data, input.size(), mac, &size)) {
      throw std::runtime_error("HS256: " + take_openssl_error());
    }
    return std::string(reinterpret_cast<const char*>(mac), size);
  }
  // RS256 is PKCS #1 v1.5 padding, OpenSSL's default for an RSA key.
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) {
    throw std::runtime_error(std::string(to_string(alg_)) + ": " + take_openssl_error());
  }
  std::string signature(size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(signature.data());
  if (EVP_DigestSign(ctx.get(), out, &size, data, input.size()) != 1) {
    throw std::runtime_error(std::string(to_string(alg_)) + ": " + take_openssl_error());
  }
  if (alg_ == jws_alg::es256) return der_to_jose(out, size);
  signature.resize(size);
  return signature;
}

}  // namespace switchboard::auth
