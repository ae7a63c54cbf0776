#include "scripts/loadtest/options.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace switchboard::load {
namespace {

options parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"switchboard-load"};
  argv.insert(argv.end(), args);
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

// The options_error's text, or "accepted".
std::string refusal(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const options_error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Options, NoTokenByDefault) {
  const options o = parse({"connect"});
  EXPECT_TRUE(o.token.empty());
  EXPECT_FALSE(o.mints_tokens());
  EXPECT_EQ(o.token_ttl, 3600);
}

TEST(Options, TokenFlagsAreRead) {
  EXPECT_EQ(parse({"--token", "a.b.c"}).token, "a.b.c");
  const options hs = parse({"churn", "--token-secret", "s3cret", "--token-ttl", "60"});
  EXPECT_EQ(hs.token_secret, "s3cret");
  EXPECT_TRUE(hs.mints_tokens());
  EXPECT_EQ(hs.token_ttl, 60);
  const options key = parse({"--token-key", "/tmp/key.pem"});
  EXPECT_EQ(key.token_key_file, "/tmp/key.pem");
  EXPECT_TRUE(key.mints_tokens());
}

TEST(Options, FixedAndMintedTokensExcludeEachOther) {
  EXPECT_EQ(refusal({"--token", "a.b.c", "--token-secret", "s"}),
            "--token: a fixed token and minted ones (--token-secret) exclude each other");
  EXPECT_EQ(refusal({"--token-key", "k.pem", "--token", "a.b.c"}),
            "--token: a fixed token and minted ones (--token-key) exclude each other");
  EXPECT_EQ(refusal({"--token-secret", "s", "--token-key", "k.pem"}),
            "--token-secret and --token-key exclude each other: tokens are signed with one key");
}

TEST(Options, BadTokenValuesAreRefused) {
  EXPECT_EQ(refusal({"--token", ""}), "--token: needs a value");
  EXPECT_EQ(refusal({"--token-secret", ""}), "--token-secret: needs a value");
  EXPECT_EQ(refusal({"--token-key", ""}), "--token-key: needs a value");
  // It would end the header line, or split it.
  EXPECT_EQ(refusal({"--token", "a.b\r\nX-Evil: 1"}), "--token: only printable ASCII without spaces, as in a JWT");
  EXPECT_EQ(refusal({"--token", "a b"}), "--token: only printable ASCII without spaces, as in a JWT");
}

TEST(Options, TokenTtlOnlyForMintedTokens) {
  EXPECT_EQ(refusal({"--token-ttl", "60"}), "--token-ttl: only for minted tokens (--token-secret or --token-key)");
  EXPECT_EQ(refusal({"--token", "a.b.c", "--token-ttl", "60"}),
            "--token-ttl: only for minted tokens (--token-secret or --token-key)");
  EXPECT_EQ(refusal({"--token-secret", "s", "--token-ttl", "0"}), "--token-ttl: must be between 1 and 315360000");
  EXPECT_NE(refusal({"--token-secret", "s", "--token-ttl", "soon"}), "accepted");
}

TEST(Options, PingLeadEndsAConnectHold) {
  EXPECT_EQ(parse({"connect"}).ping_lead, 2);
  EXPECT_EQ(parse({"connect", "-d", "60", "--ping-lead", "10"}).ping_lead, 10);
  EXPECT_EQ(parse({"connect", "--ping-lead", "0"}).ping_lead, 0);
  // The default leaves half of a short hold to the pings.
  EXPECT_EQ(parse({"connect", "-d", "1"}).ping_lead, 0.5);
  EXPECT_EQ(refusal({"connect", "-d", "5", "--ping-lead", "5"}),
            "--ping-lead: must be shorter than --duration, the hold it ends");
  EXPECT_EQ(refusal({"fanout", "--ping-lead", "1"}), "--ping-lead: only for the connect scenario");
}

TEST(Options, HelpNamesTheTokenFlags) {
  try {
    parse({"--help"});
    FAIL() << "no help";
  } catch (const help_requested& help) {
    const std::string text = help.what();
    for (const char* flag : {"--token ", "--token-secret", "--token-key", "--token-ttl"})
      EXPECT_NE(text.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace switchboard::load
