#pragma once
// The node's configuration: one aggregate, parsed once from flags and
// environment, then passed by const reference. Its defaults are the flags'
// defaults: option_rows.cpp has one row per flag and --help prints them
// from here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/log.hpp"
#include "common/redis/endpoint.hpp"
#include "common/redis/cluster_seeds.hpp"
#include "common/redis/sentinel_group.hpp"
#include "common/redis/pool.hpp"

namespace switchboard {

namespace auth {
struct verifier_config;
}

struct config {
  std::string bind = "0.0.0.0";
  std::uint16_t port = 8080;
  int workers = 0;  // 0 until parsed: then the hardware thread count
  std::string redis_url = "redis://127.0.0.1:6379";
  redis::endpoint redis;  // a single Redis (redis://, unix://)
  // Set for sentinel://: the primary is asked of the group, and `redis` is unused.
  std::optional<redis::sentinel_group> redis_sentinel;
  // Set for cluster://: the nodes the slot map is first asked of.
  std::optional<redis::cluster_seeds> redis_cluster;
  std::string node;  // default: the host name
  // 64 KiB holds any chat message; bigger payloads belong in object storage.
  std::size_t max_message_bytes = 64 * 1024;
  // 4 MiB of backlog is seconds of traffic for a healthy client; past it the
  // client is not keeping up and is closed rather than allowed to grow memory.
  std::size_t send_queue_bytes = 4 * 1024 * 1024;
  // Requests one connection may have waiting on Redis; past it the session
  // stops reading until one is answered (backpressure, not an error). 32 is
  // twice the window of the closed-loop direct benchmark (16 unacknowledged
  // per sender) and bounds what one connection holds.
  std::size_t max_inflight_requests = 32;
  std::string channel_prefix = "sb:";
  // A connection in more rooms than this is refused further joins.
  std::size_t max_rooms_per_connection = 256;
  // A worker that stops heartbeating is taken for dead after this: its
  // clients vanish from presence, and it no longer holds back publishing
  // after a Redis restart. It heartbeats three times per period.
  std::chrono::milliseconds liveness_timeout{3000};
  // How long a draining worker waits for its clients to close before exiting.
  std::chrono::seconds drain_timeout{10};
  // On SIGTERM, how long /healthz answers 503 while the node still serves
  // normally, so that a load balancer's health check takes it out of
  // rotation before its listener closes. Set it to the balancer's check
  // interval times its fall count.
  std::chrono::seconds drain_notice{0};
  // Open WebSocket connections one worker accepts; past it upgrades get 503.
  // 0: no limit other than file descriptors.
  std::size_t max_connections = 0;
  // The whole HTTP request, and then the WebSocket handshake, must arrive
  // within this: slow or half-open clients do not hold sockets for long.
  std::chrono::seconds handshake_timeout{10};
  // A silent peer is pinged after half to all of this and dropped half of
  // it later: one worker-wide timer ticks every half of it (idle_watch).
  std::chrono::seconds idle_timeout{60};
  log::level log_level = log::level::info;
  // The worker's Redis command pool (everything but SUBSCRIBE and the
  // liveness heartbeat): redis::pool_options holds the defaults and why.
  std::size_t redis_pool_size = redis::pool_options{}.size;
  bool redis_pool_wait = redis::pool_options{}.wait;
  std::size_t redis_pool_max_waiters = redis::pool_options{}.max_waiters;  // 0: unlimited
  std::chrono::milliseconds redis_pool_acquire_timeout = redis::pool_options{}.acquire_timeout;
  // Static files (the demo page, switchboard.js) are served from here; empty
  // serves none. Default: the source tree's server/www.
  std::string www_dir;
  // A static file bigger than this is refused (403) rather than read into
  // memory: the directory is for a page and its scripts, not downloads.
  std::size_t static_max_bytes = 1024 * 1024;
  // Auth (PROTOCOL.md, "Identity and auth"): with a key, every upgrade must
  // present a valid JWT; without one, connections are anonymous.
  std::string auth_secret;       // HS256's secret (or from auth_secret_file)
  std::string auth_secret_file;  // a file holding it, so it stays off the command line
  std::string auth_public_key;   // a PEM public key file: RSA for RS256, P-256 for ES256
  std::string auth_public_key_pem;  // its text, read at start-up
  // PROTOCOL.md's default: NTP-synchronised clocks are far closer, and a
  // token lives at most this much past its exp.
  std::chrono::seconds auth_leeway{30};
  std::string auth_issuer;    // when set, `iss` must equal it
  std::string auth_audience;  // when set, `aud` must name it
  // Comma-separated origins an upgrade may come from, `*` matching any run;
  // empty: any. An upgrade without Origin (no browser) is always allowed.
  std::string allowed_origins;
  // Client broadcasts reach every connection of the cluster: the operator
  // may switch them off for everyone (then `broadcast` gets forbidden).
  bool client_broadcast = true;
  // Each connection's request budget, a token bucket (PROTOCOL.md,
  // "Limits"). A chat client sends a few requests a second; a page that
  // reconnects re-joins up to 256 rooms and may ask each one's presence at
  // once, about 500 requests, which the burst covers twice over. 100 per
  // second sustained is far above anything a person drives, and caps what
  // one connection can make the cluster deliver. 0: no limit.
  std::size_t client_rate = 100;
  std::size_t client_burst = 1000;

  // The backend API (PROTOCOL.md, "Backend API"): off (every /api/ route
  // 404) until a key is set.
  std::string api_key;       // or SWITCHBOARD_API_KEY, or from api_key_file
  std::string api_key_file;
  // With a port, the API has a listener of its own (e.g. 127.0.0.1 only)
  // and the public port answers 404 for /api/. 0: on the public port.
  std::string api_bind = "127.0.0.1";
  std::uint16_t api_port = 0;
  // 1,000 batched messages of a chat's size fit with room to spare.
  std::size_t api_max_body_bytes = 1024 * 1024;

  // Rooms that keep history (PROTOCOL.md, "History and recovery"): room
  // patterns as in a token's claims, comma-separated; empty: none, and no
  // room pays anything for it.
  std::string history_rooms;
  // Messages each such room keeps, and how long a room's history lives
  // after its last message. 100 covers a phone that drops off for a minute
  // in a busy chat; 10 minutes covers a laptop lid closed over a coffee.
  std::size_t history_size = 100;
  std::chrono::seconds history_ttl{600};

  bool api_enabled() const { return !api_key.empty(); }
  bool auth_enabled() const { return !auth_secret.empty() || !auth_public_key_pem.empty(); }
};

// The verifier's settings from the auth flags.
auth::verifier_config verifier_settings(const config& cfg);

// A bad flag or environment value; what() names the flag and says why.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `--help` was given; what() is the help text.
class help_requested : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What --redis names, for logs, without passwords.
std::string describe_redis(const config& cfg);

// Flags win over the environment (SWITCHBOARD_<FLAG>, e.g. SWITCHBOARD_PORT;
// REDIS_URL for --redis). Throws config_error or help_requested.
config parse_config(int argc, const char* const argv[]);

}  // namespace switchboard
