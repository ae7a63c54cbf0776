// Admission at the upgrade (PROTOCOL.md, "Identity and auth"), against the
// real binary with 2 workers: a JWT from the header or the URL, every
// refusal a 401 with its reason before any WebSocket opens, the user in the
// welcome and in every message its connection sends, origins checked.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/integration/auth_fixture.hpp"

namespace switchboard::testing {
namespace {

TEST_F(auth_test, every_refusal_is_a_401_with_its_reason) {
  start_with_auth();
  const std::uint16_t port = server().port();
  struct refusal {
    std::string token;
    std::string reason;
  };
  const refusal refusals[] = {
      {"", "missing"},
      {"not-a-token", "malformed"},
      {mint_hs256(claims_for("alice"), "another-secret-of-thirty-two-bytes!!"), "bad_signature"},
      {mint_hs256(claims_for("alice"), test_auth_secret, "none"), "unsupported_alg"},
      {mint_hs256(claims_for("alice"), test_auth_secret, "HS512"), "unsupported_alg"},
      {mint_hs256(claims_for("alice", -3600)), "expired"},
      {mint_hs256({{"exp", unix_now() + 60}}), "bad_subject"},
      {std::string(9000, 'a'), "too_large"},
  };
  for (const auto& r : refusals) {
    auto res = upgrade(port, r.token.empty() ? "/ws" : "/ws?token=" + r.token);
    EXPECT_EQ(res.status, 401u) << r.reason << ": " << res.error;
    EXPECT_EQ(res.body, "token refused: " + r.reason + "\n");
    EXPECT_EQ(res.headers.count("sec-websocket-accept"), 0u) << "no WebSocket was opened";
  }
  EXPECT_EQ(server().log_tail(100000).find(refusals[2].token), std::string::npos) << "a token reached the log";
}

TEST_F(auth_test, the_header_token_wins_over_the_url) {
  start_with_auth();
  const std::string good = mint_hs256(claims_for("alice"));
  EXPECT_EQ(upgrade(server().port(), "/ws?token=garbage", {{"Authorization", "Bearer " + good}}).status, 101u);
  EXPECT_EQ(upgrade(server().port(), "/ws?token=" + good, {{"Authorization", "Bearer garbage"}}).status, 401u);
  EXPECT_EQ(upgrade(server().port(), "/ws", {{"Authorization", "bearer " + good}}).status, 101u)
      << "the scheme is case-insensitive";
}

TEST_F(auth_test, the_welcome_and_every_message_carry_the_user) {
  start_with_auth();
  ws_client alice = connect_as(mint_hs256(claims_for("alice")));
  ws_client bob = connect_as(mint_hs256(claims_for("bob")));
  EXPECT_EQ(alice.user(), "alice");
  EXPECT_EQ(bob.user(), "bob");

  // A client cannot set from_user: whatever it sends, the server stamps it.
  alice.send_json({{"type", "direct"}, {"to", bob.id()}, {"from_user", "mallory"}, {"ref", 1}, {"data", 7}});
  EXPECT_EQ(alice.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  json got = bob.next_of_type("message");
  EXPECT_EQ(got["from"], alice.id());
  EXPECT_EQ(got["from_user"], "alice");
  EXPECT_EQ(got["data"], 7);
}

TEST_F(auth_test, scripts_token_sh_mints_a_token_the_server_takes) {
  start_with_auth();
  std::string command = std::string(SWITCHBOARD_SOURCE_DIR) + "/scripts/token.sh --secret " + test_auth_secret +
                        " --sub carol --claims '{\"rooms\":[\"chat:*\"]}'";
  std::string token;
  if (FILE* out = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, out)) token += buffer;
    EXPECT_EQ(::pclose(out), 0) << command;
  }
  while (!token.empty() && token.back() == '\n') token.pop_back();
  ASSERT_FALSE(token.empty()) << command;
  EXPECT_EQ(connect_as(token).user(), "carol");
}

TEST_F(auth_test, a_token_over_8_kib_gets_its_401_and_headers_over_16_kib_get_431) {
  start_with_auth();
  // 8,193 bytes: over the token limit but within the 16 KiB of headers read.
  auto res = upgrade(server().port(), "/ws?token=" + std::string(8193, 'a'));
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(res.body, "token refused: too_large\n");
  auto huge = upgrade(server().port(), "/ws", {{"X-Padding", std::string(17 * 1024, 'p')}});
  EXPECT_EQ(huge.status, 431u);
}

TEST_F(cluster_test, anonymous_connections_have_no_user_and_send_no_from_user) {
  start_server();
  ws_client a = connect();
  ws_client b = connect();
  EXPECT_EQ(a.user(), "");
  a.send_json({{"type", "direct"}, {"to", b.id()}, {"ref", 1}, {"data", 1}});
  EXPECT_EQ(a.next_answer(), (json{{"type", "ack"}, {"ref", 1}}));
  EXPECT_FALSE(b.next_of_type("message").contains("from_user"));
}

TEST_F(cluster_test, origins_off_the_allow_list_get_403) {
  start_server({.extra_flags = {"--allowed-origins", "https://*.example.com, http://localhost:8080"}});
  const std::uint16_t port = server().port();
  EXPECT_EQ(upgrade(port, "/ws", {{"Origin", "https://app.example.com"}}).status, 101u);
  EXPECT_EQ(upgrade(port, "/ws", {{"Origin", "http://localhost:8080"}}).status, 101u);
  auto foreign = upgrade(port, "/ws", {{"Origin", "https://evil.test"}});
  EXPECT_EQ(foreign.status, 403u);
  EXPECT_EQ(foreign.body, "origin not allowed\n");
  EXPECT_EQ(upgrade(port, "/ws", {{"Origin", "https://example.com"}}).status, 403u) << "*. needs a subdomain";
  EXPECT_EQ(upgrade(port, "/ws").status, 101u) << "no Origin: not a browser, allowed";
}

}  // namespace
}  // namespace switchboard::testing
