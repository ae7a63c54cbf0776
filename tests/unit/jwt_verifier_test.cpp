#include "common/auth/verifier.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/auth/base64url.hpp"
#include "tests/support/jwt_fixture_keys.hpp"

namespace switchboard::auth {
namespace {

using json = nlohmann::json;

// The tests' clock: verification never reads the real one.
constexpr std::int64_t now = 1'700'000'000;
const std::string secret = "an HS256 secret of well over thirty-two bytes";

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using pkey = std::unique_ptr<EVP_PKEY, pkey_free>;
struct bio_free {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  return bio_text(bio.get());
}

std::string private_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

// Keys are made once: RSA key generation takes a while, more so under ASan.
struct test_keys {
  pkey rsa{EVP_RSA_gen(2048)};
  pkey rsa_other{EVP_RSA_gen(2048)};
  pkey ec{EVP_EC_gen("P-256")};
  pkey ec_other{EVP_EC_gen("P-256")};
  std::string rsa_pem = public_pem(rsa.get());
  std::string ec_pem = public_pem(ec.get());
};

const test_keys& keys() {
  static const test_keys made;
  return made;
}

std::string hmac(std::string_view key, std::string_view input, const EVP_MD* md = EVP_sha256()) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &size);
  return std::string(reinterpret_cast<char*>(mac), size);
}

// An RSA or ECDSA signature as OpenSSL makes it (DER for ECDSA).
std::string digest_sign(EVP_PKEY* key, std::string_view input, const EVP_MD* md = EVP_sha256(), bool pss = false) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key);
  if (pss) EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
  std::size_t size = 0;
  auto* data = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size());
  std::string sig(size, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data, input.size());
  sig.resize(size);
  return sig;
}

// JWS wants ECDSA's r and s as two 32-byte big-endian numbers.
std::string der_to_jose(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())),
                                                            ECDSA_SIG_free);
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  return raw;
}

using signer = std::function<std::string(std::string_view)>;

signer hs256(std::string key = secret) {
  return [key](std::string_view input) { return hmac(key, input); };
}
signer rs256(EVP_PKEY* key) {
  return [key](std::string_view input) { return digest_sign(key, input); };
}
signer es256(EVP_PKEY* key) {
  return [key](std::string_view input) { return der_to_jose(digest_sign(key, input)); };
}

// A compact JWS of the two texts as given (they need not be JSON).
std::string jwt_text(std::string_view header, std::string_view payload, const signer& sign) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(sign(input));
}

std::string jwt(const std::string& alg, const json& payload, const signer& sign) {
  return jwt_text(json{{"alg", alg}, {"typ", "JWT"}}.dump(), payload.dump(), sign);
}

json alice() { return {{"sub", "alice"}, {"exp", now + 3600}}; }

verifier_config hs_config() {
  verifier_config config;
  config.hmac_secret = secret;
  return config;
}

verifier_config all_keys_config() {
  verifier_config config = hs_config();
  config.public_key_pem = keys().rsa_pem + keys().ec_pem;
  return config;
}

claims accepted(const verifier& v, std::string_view token, std::int64_t at = now) {
  auto result = v.verify(token, at);
  if (auto* reason = std::get_if<refusal>(&result)) {
    ADD_FAILURE() << "refused (" << to_string(*reason) << "): " << token.substr(0, 200);
    return {};
  }
  return std::get<claims>(std::move(result));
}

std::string refused(const verifier& v, std::string_view token, std::int64_t at = now) {
  auto result = v.verify(token, at);
  if (std::holds_alternative<claims>(result)) return "accepted";
  return std::string(to_string(std::get<refusal>(result)));
}

// The token's parts, to tamper with one.
struct parts {
  std::string header, payload, signature;
  explicit parts(std::string_view token) {
    auto a = token.find('.');
    auto b = token.find('.', a + 1);
    header = token.substr(0, a);
    payload = token.substr(a + 1, b - a - 1);
    signature = token.substr(b + 1);
  }
  std::string join() const { return header + "." + payload + "." + signature; }
};

std::string flip_signature_byte(std::string_view token, std::size_t at) {
  parts p(token);
  auto sig = *base64url_decode(p.signature);
  sig[at % sig.size()] ^= 0x01;
  p.signature = base64url_encode(sig);
  return p.join();
}

TEST(JwtVerifier, accepts_hs256_rs256_es256) {
  verifier v(all_keys_config());
  for (const auto& token : {jwt("HS256", alice(), hs256()), jwt("RS256", alice(), rs256(keys().rsa.get())),
                            jwt("ES256", alice(), es256(keys().ec.get()))}) {
    auto c = accepted(v, token);
    EXPECT_EQ(c.sub, "alice");
    EXPECT_EQ(c.exp, now + 3600);
  }
}

TEST(JwtVerifier, permissions_default_to_direct_only) {
  verifier v(hs_config());
  auto c = accepted(v, jwt("HS256", {{"sub", "alice"}}, hs256()));
  EXPECT_EQ(c.exp, std::nullopt);
  EXPECT_TRUE(c.grants.rooms.empty());
  EXPECT_TRUE(c.grants.publish.empty());
  EXPECT_FALSE(c.grants.rooms.matches("lobby"));
  EXPECT_FALSE(c.grants.broadcast);
  EXPECT_TRUE(c.grants.direct);
}

TEST(JwtVerifier, permissions_come_from_the_claims) {
  verifier v(hs_config());
  auto c = accepted(v, jwt("HS256",
                           {{"sub", "alice"},
                            {"rooms", {"chat:*", "lobby"}},
                            {"publish", {"news"}},
                            {"broadcast", true},
                            {"direct", false}},
                           hs256()));
  EXPECT_TRUE(c.grants.rooms.matches("chat:a:b"));
  EXPECT_TRUE(c.grants.rooms.matches("lobby"));
  EXPECT_FALSE(c.grants.rooms.matches("news"));
  EXPECT_TRUE(c.grants.publish.matches("news"));
  EXPECT_FALSE(c.grants.publish.matches("lobby"));
  EXPECT_TRUE(c.grants.broadcast);
  EXPECT_FALSE(c.grants.direct);
}

TEST(JwtVerifier, wrong_key_is_a_bad_signature) {
  verifier v(all_keys_config());
  EXPECT_EQ(refused(v, jwt("HS256", alice(), hs256(secret + "!"))), "bad_signature");
  EXPECT_EQ(refused(v, jwt("RS256", alice(), rs256(keys().rsa_other.get()))), "bad_signature");
  EXPECT_EQ(refused(v, jwt("ES256", alice(), es256(keys().ec_other.get()))), "bad_signature");
}

TEST(JwtVerifier, tampering_with_any_part_is_a_bad_signature) {
  verifier v(all_keys_config());
  for (const auto& token : {jwt("HS256", alice(), hs256()), jwt("RS256", alice(), rs256(keys().rsa.get())),
                            jwt("ES256", alice(), es256(keys().ec.get()))}) {
    parts header(token);
    auto decoded = json::parse(*base64url_decode(header.header));
    decoded["typ"] = "jwt";
    header.header = base64url_encode(decoded.dump());
    EXPECT_EQ(refused(v, header.join()), "bad_signature");

    parts payload(token);
    payload.payload = base64url_encode(json{{"sub", "mallory"}, {"exp", now + 3600}}.dump());
    EXPECT_EQ(refused(v, payload.join()), "bad_signature");

    for (std::size_t at : {0, 17, 31, 63}) EXPECT_EQ(refused(v, flip_signature_byte(token, at)), "bad_signature");

    parts truncated(token);
    auto shorter = *base64url_decode(truncated.signature);
    shorter.pop_back();
    truncated.signature = base64url_encode(shorter);
    EXPECT_EQ(refused(v, truncated.join()), "bad_signature");
    parts empty(token);
    empty.signature.clear();
    EXPECT_EQ(refused(v, empty.join()), "bad_signature");
  }
}

TEST(JwtVerifier, es256_needs_jose_not_der) {
  verifier v(all_keys_config());
  auto der = [](std::string_view input) { return digest_sign(keys().ec.get(), input); };
  EXPECT_EQ(refused(v, jwt("ES256", alice(), der)), "bad_signature");
  // r or s of zero is never a signature.
  auto zeros = [](std::string_view) { return std::string(64, '\0'); };
  EXPECT_EQ(refused(v, jwt("ES256", alice(), zeros)), "bad_signature");
  auto ones = [](std::string_view) { return std::string(64, '\xff'); };
  EXPECT_EQ(refused(v, jwt("ES256", alice(), ones)), "bad_signature");
}

TEST(JwtVerifier, alg_none_and_other_algs_are_refused) {
  verifier v(all_keys_config());
  auto unsigned_token = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(alice().dump()) + ".";
  EXPECT_EQ(refused(v, unsigned_token), "unsupported_alg");
  for (const char* alg : {"none", "None", "NONE", "hs256", "EdDSA", "ES384", ""}) {
    EXPECT_EQ(refused(v, jwt(alg, alice(), hs256())), "unsupported_alg") << alg;
  }
  // Correctly signed with a configured key, but not with an algorithm allowed.
  EXPECT_EQ(refused(v, jwt("HS384", alice(), [](std::string_view in) { return hmac(secret, in, EVP_sha384()); })),
            "unsupported_alg");
  EXPECT_EQ(refused(v, jwt("HS512", alice(), [](std::string_view in) { return hmac(secret, in, EVP_sha512()); })),
            "unsupported_alg");
  auto* rsa = keys().rsa.get();
  EXPECT_EQ(refused(v, jwt("RS384", alice(), [rsa](std::string_view in) { return digest_sign(rsa, in, EVP_sha384()); })),
            "unsupported_alg");
  auto pss = [rsa](std::string_view in) { return digest_sign(rsa, in, EVP_sha256(), true); };
  EXPECT_EQ(refused(v, jwt("PS256", alice(), pss)), "unsupported_alg");
  // A PSS signature under the name RS256 does not verify as PKCS#1 v1.5.
  EXPECT_EQ(refused(v, jwt("RS256", alice(), pss)), "bad_signature");
  // A header asking for extensions the verifier does not know.
  EXPECT_EQ(refused(v, jwt_text(R"({"alg":"HS256","crit":["b64"],"b64":false})", alice().dump(), hs256())),
            "unsupported_alg");
}

TEST(JwtVerifier, alg_without_its_key_is_refused) {
  verifier hs_only(hs_config());
  EXPECT_EQ(refused(hs_only, jwt("RS256", alice(), rs256(keys().rsa.get()))), "unsupported_alg");
  EXPECT_EQ(refused(hs_only, jwt("ES256", alice(), es256(keys().ec.get()))), "unsupported_alg");

  verifier_config rsa_config;
  rsa_config.public_key_pem = keys().rsa_pem;
  verifier rsa_only(rsa_config);
  EXPECT_EQ(refused(rsa_only, jwt("HS256", alice(), hs256())), "unsupported_alg");
  EXPECT_EQ(refused(rsa_only, jwt("ES256", alice(), es256(keys().ec.get()))), "unsupported_alg");

  verifier_config ec_config;
  ec_config.public_key_pem = keys().ec_pem;
  verifier ec_only(ec_config);
  EXPECT_EQ(refused(ec_only, jwt("RS256", alice(), rs256(keys().rsa.get()))), "unsupported_alg");
  accepted(ec_only, jwt("ES256", alice(), es256(keys().ec.get())));
}

// CVE-2015-9235: an HS256 token whose HMAC key is the server's RSA public
// key, which every client can read.
TEST(JwtVerifier, rsa_public_key_is_never_an_hmac_secret) {
  const std::string& pem = keys().rsa_pem;
  for (const std::string& key : {pem, pem.substr(0, pem.size() - 1)}) {
    auto forged = jwt("HS256", alice(), hs256(key));

    verifier_config rsa_config;
    rsa_config.public_key_pem = pem;
    EXPECT_EQ(refused(verifier(rsa_config), forged), "unsupported_alg");

    verifier_config both = hs_config();
    both.public_key_pem = pem;
    EXPECT_EQ(refused(verifier(both), forged), "bad_signature");
  }
}

TEST(JwtVerifier, exp_with_the_leeway) {
  verifier_config config = hs_config();
  config.leeway_seconds = 30;
  verifier v(config);
  auto token = jwt("HS256", {{"sub", "alice"}, {"exp", 1000}}, hs256());
  EXPECT_EQ(accepted(v, token, 1000 + 29).exp, 1000);
  EXPECT_EQ(refused(v, token, 1000 + 30), "expired");
  EXPECT_EQ(refused(v, token, 1000 + 31), "expired");
  EXPECT_EQ(v.leeway_seconds(), 30);

  config.leeway_seconds = 0;
  verifier strict(config);
  accepted(strict, token, 999);
  EXPECT_EQ(refused(strict, token, 1000), "expired");
}

TEST(JwtVerifier, nbf_with_the_leeway) {
  verifier v(hs_config());  // the default leeway, 30 s
  auto token = jwt("HS256", {{"sub", "alice"}, {"nbf", 1000}}, hs256());
  accepted(v, token, 1000 - 30);
  accepted(v, token, 5000);
  EXPECT_EQ(refused(v, token, 1000 - 31), "not_yet_valid");
}

TEST(JwtVerifier, dates_of_every_number_kind) {
  verifier v(hs_config());
  // A fraction past a second counts as the next one: valid until 1030.5.
  auto fractional = jwt("HS256", {{"sub", "a"}, {"exp", 1000.5}}, hs256());
  EXPECT_EQ(accepted(v, fractional, 1030).exp, 1001);
  EXPECT_EQ(refused(v, fractional, 1031), "expired");
  // Far past int64 does not overflow: it never expires.
  auto huge = jwt_text(R"({"alg":"HS256"})", R"({"sub":"a","exp":18446744073709551615})", hs256());
  EXPECT_EQ(accepted(v, huge).exp, std::numeric_limits<std::int64_t>::max());
  auto huge_float = jwt_text(R"({"alg":"HS256"})", R"({"sub":"a","exp":1e300})", hs256());
  accepted(v, huge_float, std::numeric_limits<std::int64_t>::max() - 10);
  auto ancient = jwt_text(R"({"alg":"HS256"})", R"({"sub":"a","exp":-1e300,"nbf":-9223372036854775808})", hs256());
  EXPECT_EQ(refused(v, ancient), "expired");
  auto late_nbf = jwt_text(R"({"alg":"HS256"})", R"({"sub":"a","nbf":9223372036854775807})", hs256());
  EXPECT_EQ(refused(v, late_nbf, std::numeric_limits<std::int64_t>::max() - 31), "not_yet_valid");
}

TEST(JwtVerifier, issuer_when_configured) {
  verifier_config config = hs_config();
  config.issuer = "https://issuer.example";
  verifier v(config);
  accepted(v, jwt("HS256", {{"sub", "a"}, {"iss", "https://issuer.example"}}, hs256()));
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}, {"iss", "https://other.example"}}, hs256())), "bad_issuer");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}}, hs256())), "bad_issuer");

  verifier any_issuer(hs_config());
  accepted(any_issuer, jwt("HS256", {{"sub", "a"}, {"iss", "https://other.example"}}, hs256()));
}

TEST(JwtVerifier, audience_when_configured) {
  verifier_config config = hs_config();
  config.audience = "switchboard";
  verifier v(config);
  accepted(v, jwt("HS256", {{"sub", "a"}, {"aud", "switchboard"}}, hs256()));
  accepted(v, jwt("HS256", {{"sub", "a"}, {"aud", {"billing", "switchboard"}}}, hs256()));
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}, {"aud", "billing"}}, hs256())), "bad_audience");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}, {"aud", {"billing"}}}, hs256())), "bad_audience");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}, {"aud", json::array()}}, hs256())), "bad_audience");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}}, hs256())), "bad_audience");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", "a"}, {"aud", "Switchboard"}}, hs256())), "bad_audience");

  verifier any_audience(hs_config());
  accepted(any_audience, jwt("HS256", {{"sub", "a"}, {"aud", {"billing"}}}, hs256()));
}

TEST(JwtVerifier, subject_rules) {
  verifier v(hs_config());
  EXPECT_EQ(accepted(v, jwt("HS256", {{"sub", std::string(128, 'u')}}, hs256())).sub, std::string(128, 'u'));
  EXPECT_EQ(accepted(v, jwt("HS256", {{"sub", "zo\xc3\xab \xe6\x97\xa5"}}, hs256())).sub, "zo\xc3\xab \xe6\x97\xa5");
  EXPECT_EQ(refused(v, jwt("HS256", {{"exp", now + 60}}, hs256())), "bad_subject");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", ""}}, hs256())), "bad_subject");
  EXPECT_EQ(refused(v, jwt("HS256", {{"sub", std::string(129, 'u')}}, hs256())), "bad_subject");
  for (const char* control : {"\x01", "\x1f", "\x7f", "\xc2\x85", "\xc2\x9f"}) {
    EXPECT_EQ(refused(v, jwt("HS256", {{"sub", std::string("al") + control + "ice"}}, hs256())), "bad_subject");
  }
  EXPECT_EQ(refused(v, jwt_text(R"({"alg":"HS256"})", R"({"sub":"a\u0000b"})", hs256())), "bad_subject");
}

TEST(JwtVerifier, claims_of_the_wrong_type_are_malformed) {
  verifier v(hs_config());
  for (const char* payload : {
           R"({"sub":7})",
           R"({"sub":"a","exp":"1700000000"})",
           R"({"sub":"a","exp":true})",
           R"({"sub":"a","nbf":null})",
           R"({"sub":"a","iss":1})",
           R"({"sub":"a","aud":5})",
           R"({"sub":"a","aud":["x",5]})",
           R"({"sub":"a","rooms":"chat:*"})",
           R"({"sub":"a","rooms":[1]})",
           R"({"sub":"a","publish":{}})",
           R"({"sub":"a","publish":["x",null]})",
           R"({"sub":"a","broadcast":"true"})",
           R"({"sub":"a","broadcast":1})",
           R"({"sub":"a","direct":0})",
       }) {
    EXPECT_EQ(refused(v, jwt_text(R"({"alg":"HS256"})", payload, hs256())), "malformed") << payload;
  }
}

TEST(JwtVerifier, malformed_structure) {
  verifier v(hs_config());
  auto good = jwt("HS256", alice(), hs256());
  EXPECT_EQ(refused(v, ""), "missing");
  for (const std::string& token : {
           std::string("abc"),
           std::string("a.b"),
           std::string(".."),
           good + ".",
           good + ".x",
           parts(good).header + "." + parts(good).payload,
       }) {
    EXPECT_EQ(refused(v, token), "malformed") << token;
  }
  // Characters outside base64url, padding, a 4n+1 length, non-zero unused bits.
  for (const char* bad : {"+", "/", "=", " ", "\n", "%3D"}) {
    for (int part = 0; part < 3; ++part) {
      parts p(good);
      std::string& target = part == 0 ? p.header : part == 1 ? p.payload : p.signature;
      target.insert(target.size() / 2, bad);
      EXPECT_EQ(refused(v, p.join()), "malformed") << "part " << part << " with '" << bad << "'";
    }
  }
  parts padded(good);
  padded.signature += "=";
  EXPECT_EQ(refused(v, padded.join()), "malformed");
  parts odd(good);
  odd.payload += "A";
  while (odd.payload.size() % 4 != 1) odd.payload += "A";
  EXPECT_EQ(refused(v, odd.join()), "malformed");
  // HS256's 32 bytes leave 2 unused bits in the last character; set them.
  parts loose(good);
  ASSERT_EQ(loose.signature.size() % 4, 3u);
  char& last = loose.signature.back();
  last = last == 'A' ? 'B' : last == 'B' ? 'A' : last == 'C' ? 'D' : 'C';
  EXPECT_EQ(refused(v, loose.join()), "malformed");
}

TEST(JwtVerifier, malformed_json) {
  verifier v(hs_config());
  // The header is read before the signature is checked.
  for (const char* header : {"", "not json", "[]", R"("HS256")", R"({"alg":"HS256")", R"({"typ":"JWT"})",
                             R"({"alg":256})", R"({"alg":"HS256","alg":"none"})"}) {
    EXPECT_EQ(refused(v, jwt_text(header, alice().dump(), hs256())), "malformed") << header;
  }
  // The payload only once the signature holds.
  for (const char* payload : {"", "not json", "[]", R"("alice")", R"({"sub":"alice")", R"({"sub":"a","sub":"b"})",
                              "{\"sub\":\"\xff\"}"}) {
    EXPECT_EQ(refused(v, jwt_text(R"({"alg":"HS256"})", payload, hs256())), "malformed") << payload;
    EXPECT_EQ(refused(v, jwt_text(R"({"alg":"HS256"})", payload, hs256("another secret, also long enough"))),
              "bad_signature")
        << payload;
  }
  // Repeated names deeper down are the issuer's business.
  accepted(v, jwt_text(R"({"alg":"HS256","x":{"a":1,"a":2}})", R"({"sub":"a","x":{"b":1,"b":2}})", hs256()));
}

TEST(JwtVerifier, over_8_kib_is_refused_unparsed) {
  verifier v(hs_config());
  // A valid token of exactly max_token_bytes: padded in a claim, and in the
  // header where base64 steps over the length wanted.
  std::string token;
  for (std::size_t kid = 0; kid < 4 && token.size() != max_token_bytes; ++kid) {
    for (std::size_t pad = 6000; pad < 7000; ++pad) {
      token = jwt_text(json{{"alg", "HS256"}, {"kid", std::string(kid, 'k')}}.dump(),
                       json{{"sub", "alice"}, {"pad", std::string(pad, 'p')}}.dump(), hs256());
      if (token.size() >= max_token_bytes) break;
    }
  }
  ASSERT_EQ(token.size(), max_token_bytes);
  accepted(v, token);
  EXPECT_EQ(refused(v, token + "A"), "too_large");
  EXPECT_EQ(refused(v, std::string(max_token_bytes + 1, '.')), "too_large");
  EXPECT_EQ(refused(v, std::string(max_token_bytes, '.')), "malformed");
}

void expect_config_error(verifier_config config, std::string_view says) {
  try {
    verifier v(std::move(config));
    ADD_FAILURE() << "accepted; expected an error saying " << says;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string_view(e.what()).find(says), std::string_view::npos) << e.what();
  }
}

TEST(JwtVerifierConfig, needs_a_key) {
  expect_config_error({}, "no key");
  verifier_config blank;
  blank.public_key_pem = " \n";
  expect_config_error(blank, "no key");
}

TEST(JwtVerifierConfig, hmac_secret_of_32_bytes_or_more) {
  verifier_config config;
  config.hmac_secret = std::string(31, 's');
  expect_config_error(config, "at least 32");
  config.hmac_secret = std::string(32, 's');
  verifier ok(config);
}

TEST(JwtVerifierConfig, negative_leeway) {
  verifier_config config = hs_config();
  config.leeway_seconds = -1;
  expect_config_error(config, "leeway");
}

TEST(JwtVerifierConfig, only_rsa_2048_and_p256_keys) {
  verifier_config config;
  pkey p384(EVP_EC_gen("P-384"));
  config.public_key_pem = public_pem(p384.get());
  expect_config_error(config, "secp384r1; ES256 needs P-256");
  pkey ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  config.public_key_pem = public_pem(ed25519.get());
  expect_config_error(config, "type ED25519; only RSA (RS256) and EC P-256 (ES256)");
  pkey rsa1024(EVP_RSA_gen(1024));
  config.public_key_pem = public_pem(rsa1024.get());
  expect_config_error(config, "1024 bits; RS256 needs at least 2048");
}

TEST(JwtVerifierConfig, unreadable_pem) {
  verifier_config config;
  config.public_key_pem = "not a key";
  expect_config_error(config, "no \"-----BEGIN PUBLIC KEY-----\" block");
  config.public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  expect_config_error(config, "public key 1: ");
  config.public_key_pem = keys().rsa_pem + "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  expect_config_error(config, "public key 2: ");
  config.public_key_pem = private_pem(keys().ec.get());
  expect_config_error(config, "private key");
  config.public_key_pem = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n";
  expect_config_error(config, "PKCS#1");
}

TEST(JwtVerifierConfig, one_key_of_each_kind) {
  verifier_config config;
  config.public_key_pem = keys().rsa_pem + public_pem(keys().rsa_other.get());
  expect_config_error(config, "two RSA keys");
  config.public_key_pem = keys().ec_pem + public_pem(keys().ec_other.get());
  expect_config_error(config, "two P-256 keys");
  // One of each, in either order, verifies both.
  config.public_key_pem = keys().ec_pem + keys().rsa_pem;
  verifier v(config);
  accepted(v, jwt("RS256", alice(), rs256(keys().rsa.get())));
  accepted(v, jwt("ES256", alice(), es256(keys().ec.get())));
}

// Tokens made by the openssl command line, not by this code or the OpenSSL
// calls above, so that a mistake shared by the signer and the verifier here
// (byte order of r||s, the signing input, base64url) cannot hide. Made with:
//
//   b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem
//   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
//   openssl pkey -in rsa.pem -pubout; openssl pkey -in ec.pem -pubout
//   payload=$(printf %s "$claims" | b64url)
//   input="$(printf '{"alg":"%s","typ":"JWT"}' "$alg" | b64url).$payload"
//   HS256: printf %s "$input" | openssl dgst -sha256 -hmac "$cli_secret" -binary | b64url
//   RS256: printf %s "$input" | openssl dgst -sha256 -sign rsa.pem -binary | b64url
//   ES256: printf %s "$input" | openssl dgst -sha256 -sign ec.pem -binary > es.der
//          openssl asn1parse -inform DER -in es.der |
//            awk -F: '/INTEGER/ {printf "%064s", $NF}' | tr ' ' 0 | xxd -r -p | b64url
using testing::cli_ec_pem;
using testing::cli_rsa_pem;
using testing::cli_secret;

// All three carry these claims:
// {"sub":"alice","exp":4102444800,"iss":"https://issuer.example","aud":["switchboard","other"],
//  "rooms":["chat:*","lobby"],"publish":["chat:*"],"broadcast":true}
const std::string cli_payload =
    "eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMCwiaXNzIjoiaHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZSIsImF1ZCI6WyJzd2l0Y2hib2FyZCIs"
    "Im90aGVyIl0sInJvb21zIjpbImNoYXQ6KiIsImxvYmJ5Il0sInB1Ymxpc2giOlsiY2hhdDoqIl0sImJyb2FkY2FzdCI6dHJ1ZX0";
const std::string cli_hs256 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + cli_payload +
                              ".pYs3OtLKKGF4NMFhsv6MuOMy24tq7MB5lSqvdW7rpwg";
const std::string cli_rs256 =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + cli_payload +
    ".KM3ZOsq0CqzYbiGQH8cEF7jS1-F0A18LkWcuMf4Qu38PvdNuTm9-1kS63JczaIEoY9CT6vIuW9noM-Zi8Nq59pCKDZIAp5UngpkYxtcunMX5Z7UP"
    "AFs98YIeULt-w5jILTGZm90FxEM5XQ7wGpxtwCR7bTU24QTxgztRa2XC_36x0gfujGk0tXTybtIxALpoyuFeQgb5WFqjG79gI5S-y26YR-QarUDA"
    "LO1mCPo7RIy4YMo8b3mTG2Ti7u2TNOL9CrqDIzjxSUmKraR8Gw9iC660Zlu8bq-wknuqscp9OERSTgadfe45MfnJ2b3paCSTIwxKxR5xiy3TkSOqm"
    "7Qqow";
const std::string cli_es256 = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9." + cli_payload +
                              ".-YqXpBAZC4oHhEFatY4wMe9B5qb47vD0duW234enNpmWcTKkbzqWKNVbjzDonG9JkHeEcwtXq3U_po5PxOJgEg";

verifier_config cli_config() {
  verifier_config config;
  config.hmac_secret = cli_secret;
  config.public_key_pem = cli_rsa_pem + cli_ec_pem;
  config.issuer = "https://issuer.example";
  config.audience = "switchboard";
  return config;
}

TEST(JwtCliFixture, openssl_cli_tokens_verify) {
  verifier v(cli_config());
  for (const auto& token : {cli_hs256, cli_rs256, cli_es256}) {
    auto c = accepted(v, token);
    EXPECT_EQ(c.sub, "alice");
    EXPECT_EQ(c.exp, 4102444800);
    EXPECT_TRUE(c.grants.rooms.matches("chat:general"));
    EXPECT_TRUE(c.grants.rooms.matches("lobby"));
    EXPECT_FALSE(c.grants.rooms.matches("admin"));
    EXPECT_TRUE(c.grants.publish.matches("chat:general"));
    EXPECT_FALSE(c.grants.publish.matches("lobby"));
    EXPECT_TRUE(c.grants.broadcast);
    EXPECT_TRUE(c.grants.direct);
    EXPECT_EQ(refused(v, token, 4102444800 + 30), "expired");
  }
}

TEST(JwtCliFixture, openssl_cli_tokens_need_their_keys) {
  verifier other(all_keys_config());
  for (const auto& token : {cli_hs256, cli_rs256, cli_es256}) EXPECT_EQ(refused(other, token), "bad_signature");
  verifier v(cli_config());
  for (const auto& token : {cli_hs256, cli_rs256, cli_es256}) {
    for (std::size_t at : {0, 31}) EXPECT_EQ(refused(v, flip_signature_byte(token, at)), "bad_signature");
  }
  verifier_config wrong_audience = cli_config();
  wrong_audience.audience = "billing";
  EXPECT_EQ(refused(verifier(wrong_audience), cli_rs256), "bad_audience");
}

}  // namespace
}  // namespace switchboard::auth
