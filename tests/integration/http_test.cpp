// The plain HTTP routes that share the WebSocket port.

#include "tests/integration/cluster_fixture.hpp"

namespace switchboard::testing {
namespace {

TEST_F(cluster_test, http_routes_answer_as_the_protocol_says) {
  start_server();
  const auto port = server().port();

  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.status, 200u) << health.error;
  EXPECT_EQ(health.body, "ok");

  auto unknown = http_get(port, "/nope");
  EXPECT_EQ(unknown.status, 404u) << unknown.error;

  // The WebSocket endpoint without an upgrade.
  auto plain_ws = http_get(port, "/ws");
  EXPECT_EQ(plain_ws.status, 426u) << plain_ws.error;

  auto page = http_get(port, "/");
  EXPECT_EQ(page.status, 200u) << page.error;
  EXPECT_TRUE(page.content_type.starts_with("text/html")) << page.content_type;
  EXPECT_FALSE(page.body.empty());
}

}  // namespace
}  // namespace switchboard::testing
