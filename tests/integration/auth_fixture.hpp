#pragma once
// The fixture of the tests that run the node with auth: an HS256 secret,
// clients that connect with a token, and an upgrade made by hand for the
// answers a WebSocket client never sees.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/cluster_fixture.hpp"
#include "tests/support/http_get.hpp"
#include "tests/support/jwt_mint.hpp"

namespace switchboard::testing {

inline http_response upgrade(std::uint16_t port, const std::string& target, http_headers extra = {}) {
  http_headers headers{{"Upgrade", "websocket"},
                       {"Connection", "Upgrade"},
                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                       {"Sec-WebSocket-Version", "13"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return http_request(port, "GET", target, headers);
}

// `sub`, expiring `exp_in` seconds from now, plus `grants` (rooms, publish, ...).
inline nlohmann::json claims_for(const std::string& sub, long long exp_in = 3600,
                                 const nlohmann::json& grants = nlohmann::json::object()) {
  nlohmann::json claims{{"sub", sub}, {"exp", unix_now() + exp_in}};
  claims.update(grants);
  return claims;
}

class auth_test : public cluster_test {
 protected:
  void start_with_auth(std::vector<std::string> more = {}) {
    std::vector<std::string> flags{"--auth-secret", test_auth_secret};
    flags.insert(flags.end(), more.begin(), more.end());
    start_server({.extra_flags = flags});
  }
  // On whichever worker the kernel picks, or on `worker`.
  ws_client connect_as(const std::string& token, std::optional<int> worker = std::nullopt) {
    std::string url = server().ws_url() + "?token=" + token;
    if (worker) return connect_on_worker(loop_, url, *worker, {});
    ws_client client(loop_);
    client.connect(url);
    return client;
  }
  // `sub` with `grants` (rooms, publish, ...), for an hour.
  ws_client connect_granted(const std::string& sub, const nlohmann::json& grants,
                            std::optional<int> worker = std::nullopt) {
    return connect_as(mint_hs256(claims_for(sub, 3600, grants)), worker);
  }
};

}  // namespace switchboard::testing
