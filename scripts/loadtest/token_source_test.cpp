#include "scripts/loadtest/token_source.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
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

namespace switchboard::load {
namespace {

const std::string secret = "a load-test secret of more than 32 bytes";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using pkey = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string pem_of(EVP_PKEY* key, bool private_half) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (private_half) {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio.get(), key);
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// A file of its own for each test, removed at the end.
class temp_file {
 public:
  explicit temp_file(const std::string& text)
      : path_(testing::TempDir() + "token_source_test." + std::to_string(getpid()) + "." +
              testing::UnitTest::GetInstance()->current_test_info()->name() + ".pem") {
    std::ofstream(path_) << text;
  }
  ~temp_file() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The verifier's verdict: the claims, or the refusal's name.
auth::claims accepted(const auth::verifier& v, const std::string& token) {
  auto result = v.verify(token, unix_now());
  if (auto* reason = std::get_if<auth::refusal>(&result)) {
    ADD_FAILURE() << "refused (" << auth::to_string(*reason) << "): " << token;
    return {};
  }
  return std::get<auth::claims>(std::move(result));
}

// The token's payload, decoded.
nlohmann::json payload_of(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  auto text = auth::base64url_decode(std::string_view(token).substr(a + 1, b - a - 1));
  return text ? nlohmann::json::parse(*text) : nlohmann::json();
}

// What every minted token carries, whatever signs it.
void expect_minted_claims(const auth::verifier& v, const std::string& token, const std::string& sub,
                          std::int64_t ttl) {
  const std::int64_t before = unix_now();
  const auth::claims c = accepted(v, token);
  EXPECT_EQ(c.sub, sub);
  ASSERT_TRUE(c.exp.has_value());
  EXPECT_GE(*c.exp, before + ttl - 2);
  EXPECT_LE(*c.exp, before + ttl);
  const nlohmann::json p = payload_of(token);
  EXPECT_EQ(p["rooms"], nlohmann::json::array({"*"}));
  EXPECT_EQ(p["publish"], nlohmann::json::array({"*"}));
  EXPECT_EQ(p["broadcast"], true);
  EXPECT_FALSE(p.contains("direct"));  // allowed when absent
}

options minting_with_secret() {
  options o;
  o.token_secret = secret;
  return o;
}

TEST(TokenSource, NoneAndFixed) {
  const token_source none = make_token_source(options{});
  EXPECT_FALSE(none.presents());
  EXPECT_EQ(none.token_for(0, 0), "");
  EXPECT_EQ(none.describe(), "none");

  options o;
  o.token = "a.b.c";
  const token_source fixed = make_token_source(o);
  EXPECT_TRUE(fixed.presents());
  EXPECT_FALSE(fixed.mints());
  EXPECT_EQ(fixed.token_for(0, 0), "a.b.c");
  EXPECT_EQ(fixed.token_for(3, 99), "a.b.c");
}

TEST(TokenSource, Hs256TokensVerify) {
  options o = minting_with_secret();
  o.token_ttl = 120;
  const token_source tokens = make_token_source(o);
  EXPECT_TRUE(tokens.mints());
  EXPECT_EQ(tokens.describe(), "HS256 tokens minted here, ttl 120 s");
  auth::verifier_config config;
  config.hmac_secret = secret;
  const auth::verifier v(config);
  expect_minted_claims(v, tokens.token_for(0, 0), "load-0-0", 120);
  expect_minted_claims(v, tokens.token_for(3, 41), "load-3-41", 120);
}

TEST(TokenSource, SubjectsAreDistinct) {
  const token_source tokens = make_token_source(minting_with_secret());
  EXPECT_NE(payload_of(tokens.token_for(1, 2))["sub"], payload_of(tokens.token_for(2, 1))["sub"]);
  EXPECT_NE(payload_of(tokens.token_for(0, 12))["sub"], payload_of(tokens.token_for(1, 2))["sub"]);
}

TEST(TokenSource, Rs256AndEs256TokensFromKeyFilesVerify) {
  const pkey rsa(EVP_RSA_gen(2048));
  const pkey ec(EVP_EC_gen("P-256"));
  auth::verifier_config config;
  config.public_key_pem = pem_of(rsa.get(), false) + pem_of(ec.get(), false);
  const auth::verifier v(config);
  for (EVP_PKEY* key : {rsa.get(), ec.get()}) {
    const temp_file file(pem_of(key, true));
    options o;
    o.token_key_file = file.path();
    const token_source tokens = make_token_source(o);
    const std::string token = tokens.token_for(1, 7);
    const std::string alg = key == rsa.get() ? "RS256" : "ES256";
    EXPECT_EQ(tokens.describe(), alg + " tokens minted here, ttl 3600 s");
    EXPECT_EQ(auth::base64url_decode(token.substr(0, token.find('.'))),
              nlohmann::json({{"alg", alg}, {"typ", "JWT"}}).dump());
    expect_minted_claims(v, token, "load-1-7", 3600);
  }
}

// The error's text, or "made".
std::string refusal(const options& o) {
  try {
    make_token_source(o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "made";
}

TEST(TokenSource, KeysNoVerifierAcceptsAreRefused) {
  options o;
  o.token_secret = "too short";
  EXPECT_EQ(refusal(o), "--token-secret: HMAC secret is 9 bytes; HS256 needs at least 32 (RFC 7518, 3.2)");

  o = {};
  o.token_key_file = testing::TempDir() + "no-such-key.pem";
  EXPECT_EQ(refusal(o), "--token-key: cannot read " + o.token_key_file + ": No such file or directory");

  const pkey small(EVP_RSA_gen(1024));
  const temp_file small_file(pem_of(small.get(), true));
  o.token_key_file = small_file.path();
  EXPECT_EQ(refusal(o), "--token-key " + small_file.path() +
                            ": private key: RSA key of 1024 bits; RS256 needs at least 2048 (RFC 7518, 3.3)");

  const pkey other_curve(EVP_EC_gen("P-384"));
  const temp_file curve_file(pem_of(other_curve.get(), true));
  o.token_key_file = curve_file.path();
  EXPECT_NE(refusal(o).find("ES256 needs P-256"), std::string::npos) << refusal(o);

  // The server's half: a common mistake, and no signature can come of it.
  const temp_file public_file(pem_of(small.get(), false));
  o.token_key_file = public_file.path();
  EXPECT_EQ(refusal(o), "--token-key " + public_file.path() +
                            ": private key: no \"-----BEGIN PRIVATE KEY-----\" block in the PEM text");
}

}  // namespace
}  // namespace switchboard::load
