#include "common/auth/verifier.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "common/auth/base64url.hpp"
#include "common/auth/key_policy.hpp"
#include "common/protocol/request.hpp"

namespace switchboard::auth {
namespace {

using json = nlohmann::json;

constexpr std::size_t sha256_bytes = 32;
// JWS ES256 (RFC 7518, 3.4): r and s as two 32-byte big-endian numbers.
constexpr std::size_t es256_signature_bytes = 64;

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Parses a JWT part as a JSON object. Nothing on bad JSON, on anything but
// an object, and on a repeated top-level name: RFC 7515 lets a parser take
// either copy, and two parsers taking different ones would read two
// different tokens under one signature.
std::optional<json> parse_object(std::string_view text) {
  bool repeated = false;
  std::vector<std::string> names;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      const auto& name = parsed.get_ref<const std::string&>();
      for (const auto& seen : names) {
        if (seen == name) repeated = true;
      }
      names.push_back(name);
    }
    return true;
  };
  json doc = json::parse(text, on_event, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || repeated) return std::nullopt;
  return doc;
}

// A NumericDate (RFC 7519, 2) as whole seconds, rounded up and clamped to
// int64: a fraction of a second past a whole one counts as the next one.
std::optional<std::int64_t> numeric_date(const json& value) {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  if (value.is_number_unsigned()) {
    auto u = value.get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(max) ? max : static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isnan(d)) return std::nullopt;
    d = std::ceil(d);
    // 2^63 is exactly representable; anything from it up does not fit.
    if (d >= 9223372036854775808.0) return max;
    if (d <= -9223372036854775808.0) return min;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? std::numeric_limits<std::int64_t>::max()
                                                       : std::numeric_limits<std::int64_t>::min();
  return sum;
}

// An array of strings, or nothing when `value` is anything else.
std::optional<std::vector<std::string>> strings(const json& value) {
  if (!value.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(value.size());
  for (const auto& item : value) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool verify_hmac(std::string_view secret, std::string_view input, std::string_view signature) {
  if (signature.size() != sha256_bytes) return false;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), &mac_size) == nullptr) {
    ERR_clear_error();
    return false;
  }
  // Constant time: how many leading bytes matched must not show in timing.
  return mac_size == sha256_bytes && CRYPTO_memcmp(mac.data(), signature.data(), sha256_bytes) == 0;
}

bool verify_digest(EVP_PKEY* key, std::string_view input, const unsigned char* signature, std::size_t size) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), signature, size, reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  ERR_clear_error();
  return ok;
}

// OpenSSL verifies ECDSA signatures in DER; JWS carries r||s.
bool verify_es256(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  if (signature.size() != es256_signature_bytes) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
  ecdsa_sig_ptr sig(ECDSA_SIG_new());
  bignum_ptr r(BN_bin2bn(raw, 32, nullptr));
  bignum_ptr s(BN_bin2bn(raw + 32, 32, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  // ECDSA_SIG_set0 took r and s.
  r.release();
  s.release();
  // Two INTEGERs of at most 33 bytes each in a SEQUENCE: 72 bytes at most.
  std::array<unsigned char, 80> der{};
  int der_size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (der_size <= 0 || static_cast<std::size_t>(der_size) > der.size()) {
    ERR_clear_error();
    return false;
  }
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig.get(), &out);
  return verify_digest(key, input, der.data(), static_cast<std::size_t>(der_size));
}

}  // namespace

verifier::verifier(verifier_config config) : config_(std::move(config)) {
  if (config_.leeway_seconds < 0) throw std::invalid_argument("leeway must not be negative");
  if (!config_.hmac_secret.empty()) check_hmac_secret(config_.hmac_secret.size());
  load_public_keys(config_.public_key_pem);
  config_.public_key_pem.clear();
  if (config_.hmac_secret.empty() && !rsa_key_ && !ec_key_) {
    throw std::invalid_argument("no key: give an HMAC secret or a PEM public key (without either, "
                                "connections are anonymous and need no verifier)");
  }
}

verifier::~verifier() = default;
verifier::verifier(verifier&&) noexcept = default;
verifier& verifier::operator=(verifier&&) noexcept = default;

void verifier::load_public_keys(std::string_view pem) {
  if (pem.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    throw std::invalid_argument("public key: the PEM text holds a private key; give only the public half "
                                "(openssl pkey -in key.pem -pubout)");
  }
  if (pem.find("-----BEGIN RSA PUBLIC KEY-----") != std::string_view::npos) {
    throw std::invalid_argument("public key: PKCS#1 \"RSA PUBLIC KEY\" is not read; convert it to \"PUBLIC KEY\" "
                                "(openssl rsa -RSAPublicKey_in -in key.pem -pubout)");
  }
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    throw std::invalid_argument("public key: the PEM text is a certificate; give its public key "
                                "(openssl x509 -in cert.pem -pubkey -noout)");
  }
  std::size_t blocks = count(pem, "-----BEGIN PUBLIC KEY-----");
  if (blocks == 0) throw std::invalid_argument("public key: no \"-----BEGIN PUBLIC KEY-----\" block in the PEM text");

  ERR_clear_error();
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::invalid_argument("public key: " + take_openssl_error());
  for (std::size_t i = 0; i < blocks; ++i) {
    pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) throw std::invalid_argument("public key " + std::to_string(i + 1) + ": " + take_openssl_error());
    if (asymmetric_alg(key.get(), "public key") == jws_alg::rs256) {
      if (rsa_key_) throw std::invalid_argument("public key: two RSA keys; one RSA key (RS256) is supported");
      rsa_key_ = std::move(key);
    } else {
      if (ec_key_) throw std::invalid_argument("public key: two P-256 keys; one P-256 key (ES256) is supported");
      ec_key_ = std::move(key);
    }
  }
  ERR_clear_error();
}

namespace {

// The claims that grant something, each of its own type or a refusal; the
// key records them as issued, so equal grants are recognised as such.
std::optional<refusal> read_permissions(const json& p, claims& out) {
  auto& grants = out.grants;
  for (auto [name, set] : {std::pair{"rooms", &grants.rooms}, std::pair{"publish", &grants.publish}}) {
    auto it = p.find(name);
    if (it == p.end()) continue;
    auto list = strings(*it);
    if (!list) return refusal::malformed;
    *set = pattern_set(*list);
    out.grants_key += name;
    out.grants_key += it->dump();
  }
  for (auto [name, flag] : {std::pair{"broadcast", &grants.broadcast}, std::pair{"direct", &grants.direct}}) {
    auto it = p.find(name);
    if (it == p.end()) continue;
    if (!it->is_boolean()) return refusal::malformed;
    *flag = it->get<bool>();
    out.grants_key += name;
    out.grants_key += it->dump();
  }
  return std::nullopt;
}

// The payload of a token whose signature holds, read against `config`.
verify_result read_claims(const json& p, std::int64_t now_seconds, const verifier_config& config) {
  auto field = [&p](const char* name) -> const json* {
    auto it = p.find(name);
    return it == p.end() ? nullptr : &*it;
  };

  // Every claim this server reads is checked for its type first: a claim
  // of the wrong type is a mistake at the issuer, and ignoring it would
  // quietly grant or deny something else than it meant.
  claims out;
  const json* sub = field("sub");
  if (sub && !sub->is_string()) return refusal::malformed;

  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  if (const json* v = field("exp")) {
    if (!(exp = numeric_date(*v))) return refusal::malformed;
  }
  if (const json* v = field("nbf")) {
    if (!(nbf = numeric_date(*v))) return refusal::malformed;
  }
  const json* iss = field("iss");
  if (iss && !iss->is_string()) return refusal::malformed;
  const json* aud = field("aud");
  std::vector<std::string> audiences;
  if (aud) {
    if (aud->is_string()) {
      audiences.push_back(aud->get<std::string>());
    } else if (auto list = strings(*aud)) {
      audiences = std::move(*list);
    } else {
      return refusal::malformed;
    }
  }
  if (auto refused = read_permissions(p, out)) return *refused;

  // A user id follows the rule of room names (PROTOCOL.md): it appears in
  // frames and in `user:U` rooms. JSON strings are valid UTF-8 already.
  if (!sub || !protocol::is_valid_room_name(sub->get_ref<const std::string&>())) return refusal::bad_subject;
  out.sub = sub->get<std::string>();

  // RFC 7519: not accepted on or after `exp`, nor before `nbf`; the leeway
  // moves both edges outwards.
  if (exp && now_seconds >= saturating_add(*exp, config.leeway_seconds)) return refusal::expired;
  if (nbf && saturating_add(now_seconds, config.leeway_seconds) < *nbf) return refusal::not_yet_valid;
  out.exp = exp;

  if (config.issuer && (!iss || iss->get_ref<const std::string&>() != *config.issuer)) return refusal::bad_issuer;
  if (config.audience && std::find(audiences.begin(), audiences.end(), *config.audience) == audiences.end())
    return refusal::bad_audience;
  return out;
}

}  // namespace

std::optional<refusal> verifier::check_signed(std::string_view token, std::string& payload_text) const {
  std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return refusal::malformed;
  std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return refusal::malformed;
  }
  auto header_text = base64url_decode(token.substr(0, first_dot));
  auto payload = base64url_decode(token.substr(first_dot + 1, second_dot - first_dot - 1));
  auto signature = base64url_decode(token.substr(second_dot + 1));
  if (!header_text || !payload || !signature) return refusal::malformed;

  auto header = parse_object(*header_text);
  if (!header) return refusal::malformed;
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return refusal::malformed;
  // `crit` names extensions the verifier must understand (RFC 7515, 4.1.11);
  // this one understands none.
  if (header->contains("crit")) return refusal::unsupported_alg;

  // The alg picks a configured key of its own kind or nothing: every other
  // value, `none` included, is refused here.
  const auto& alg_name = alg_it->get_ref<const std::string&>();
  std::optional<jws_alg> alg;
  if (alg_name == "HS256" && !config_.hmac_secret.empty()) alg = jws_alg::hs256;
  else if (alg_name == "RS256" && rsa_key_) alg = jws_alg::rs256;
  else if (alg_name == "ES256" && ec_key_) alg = jws_alg::es256;
  if (!alg) return refusal::unsupported_alg;

  // The signature covers the two first parts exactly as they were sent.
  std::string_view signed_part = token.substr(0, second_dot);
  bool signature_ok = false;
  switch (*alg) {
    case jws_alg::hs256: signature_ok = verify_hmac(config_.hmac_secret, signed_part, *signature); break;
    case jws_alg::rs256:
      signature_ok = verify_digest(rsa_key_.get(), signed_part,
                                   reinterpret_cast<const unsigned char*>(signature->data()), signature->size());
      break;
    case jws_alg::es256: signature_ok = verify_es256(ec_key_.get(), signed_part, *signature); break;
  }
  if (!signature_ok) return refusal::bad_signature;
  payload_text = std::move(*payload);
  return std::nullopt;
}

verify_result verifier::verify(std::string_view token, std::int64_t now_seconds) const {
  if (token.empty()) return refusal::missing;
  if (token.size() > max_token_bytes) return refusal::too_large;
  std::string payload_text;
  if (auto refused = check_signed(token, payload_text)) return *refused;
  // From here on the issuer wrote what is read.
  auto payload = parse_object(payload_text);
  if (!payload) return refusal::malformed;
  return read_claims(*payload, now_seconds, config_);
}

}  // namespace switchboard::auth
