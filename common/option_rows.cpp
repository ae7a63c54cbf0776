#include "common/option_rows.hpp"

#include <algorithm>
#include <array>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/byte_size.hpp"
#include "common/net.hpp"
#include "common/protocol/request.hpp"
#include "common/text_list.hpp"

namespace switchboard {
namespace po = boost::program_options;
namespace {

[[noreturn]] void fail(const option_row& row, const std::string& why) {
  throw config_error("--" + std::string(row.name) + ": " + why);
}

// 3600 as "3600", 0.3 as "0.3", 2^32 in full.
std::string number_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", v);
  return text;
}

std::string range_text(const option_row& row, const char* unit = "") {
  if (row.max == std::numeric_limits<double>::infinity())
    return "must be " + number_text(row.min) + " (" + row.zero + ") or more";
  return "must be between " + number_text(row.min) + " and " + number_text(row.max) + unit;
}

// 65536 as "64KiB": the largest unit that divides it, which parse_byte_size
// reads back.
std::string byte_size_text(std::size_t n) {
  for (auto [unit, shift] : {std::pair{"GiB", 30}, {"MiB", 20}, {"KiB", 10}})
    if (n != 0 && n % (std::size_t{1} << shift) == 0) return std::to_string(n >> shift) + unit;
  return std::to_string(n);
}

// The kinds: each is show, declare and store for one config member, named
// by a member pointer as template argument so that the row needs no cast.
// Numbers are read as int or double, so that text that is no number gets
// boost::program_options' message ("the argument ('x') for option '--port'
// is invalid").
template <auto Member>
using member_type = std::remove_cvref_t<decltype(std::declval<config&>().*Member)>;

// A whole number: a count, or a duration in the member's own unit.
template <auto Member>
struct whole_kind {
  static int get(const config& cfg) {
    if constexpr (requires { (cfg.*Member).count(); }) return static_cast<int>((cfg.*Member).count());
    else return static_cast<int>(cfg.*Member);
  }
  static std::string show(const config& cfg) { return std::to_string(get(cfg)); }
  static po::value_semantic* declare(const config& d) { return po::value<int>()->default_value(get(d), show(d)); }
  static void store(const option_row& row, const po::variable_value& value, config& cfg) {
    int n = value.as<int>();
    // Checked before the cast: -1 must not become a huge std::size_t.
    if (n < row.min || n > row.max) fail(row, range_text(row));
    cfg.*Member = static_cast<member_type<Member>>(n);
  }
};

// Seconds with a fraction ("1.5") for a duration member of a finer unit.
template <auto Member>
struct seconds_kind {
  static double get(const config& cfg) { return std::chrono::duration<double>(cfg.*Member).count(); }
  static std::string show(const config& cfg) { return number_text(get(cfg)); }
  static po::value_semantic* declare(const config& d) { return po::value<double>()->default_value(get(d), show(d)); }
  static void store(const option_row& row, const po::variable_value& value, config& cfg) {
    double s = value.as<double>();
    if (!(s >= row.min && s <= row.max)) fail(row, range_text(row));  // NaN fails too
    cfg.*Member = std::chrono::duration_cast<member_type<Member>>(std::chrono::duration<double>(s));
  }
};

// A size in bytes, written with or without a unit: "65536", "64KiB".
template <auto Member>
struct bytes_kind {
  static std::string show(const config& cfg) { return byte_size_text(cfg.*Member); }
  static po::value_semantic* declare(const config& d) { return po::value<std::string>()->default_value(show(d)); }
  static void store(const option_row& row, const po::variable_value& value, config& cfg) {
    const auto& text = value.as<std::string>();
    auto n = parse_byte_size(text);
    if (!n) fail(row, "'" + text + "' is not a size (e.g. 65536, 64KiB, 4MiB)");
    if (*n < row.min || *n > row.max) fail(row, range_text(row, " bytes"));
    cfg.*Member = *n;
  }
};

// "yes" or "no", nothing else: a typo must not silently mean either.
template <auto Member>
struct yes_no_kind {
  static std::string show(const config& cfg) { return cfg.*Member ? "yes" : "no"; }
  static po::value_semantic* declare(const config& d) { return po::value<std::string>()->default_value(show(d)); }
  static void store(const option_row& row, const po::variable_value& value, config& cfg) {
    const auto& text = value.as<std::string>();
    if (text != "yes" && text != "no") fail(row, "'" + text + "' is not yes or no");
    cfg.*Member = text == "yes";
  }
};

// Indexed by log::level.
constexpr std::array<std::string_view, 4> level_names{"debug", "info", "warn", "error"};
static_assert(level_names.size() == static_cast<std::size_t>(log::level::error) + 1);

template <auto Member>
struct level_kind {
  static std::string show(const config& cfg) { return std::string(level_names[static_cast<std::size_t>(cfg.*Member)]); }
  static po::value_semantic* declare(const config& d) { return po::value<std::string>()->default_value(show(d)); }
  static void store(const option_row& row, const po::variable_value& value, config& cfg) {
    const auto& text = value.as<std::string>();
    auto it = std::find(level_names.begin(), level_names.end(), text);
    if (it == level_names.end()) fail(row, "'" + text + "' is not one of debug, info, warn, error");
    cfg.*Member = static_cast<log::level>(it - level_names.begin());
  }
};

// Checks a text member once stored: empty when it is fine, else why not.
// `given`: the value came from a flag or the environment, not the default.
using text_check = std::string (*)(config& cfg, bool given);

template <auto Member, text_check Check>
struct text_kind {
  static std::string show(const config& cfg) { return cfg.*Member; }
  static po::value_semantic* declare(const config& d) { return po::value<std::string>()->default_value(show(d)); }
  static void store(const option_row& row, const po::variable_value& value, config& cfg) {
    cfg.*Member = value.as<std::string>();
    if (auto why = Check(cfg, !value.defaulted()); !why.empty()) fail(row, why);
  }
};

std::string check_bind(config& cfg, bool) {
  error_code ec;
  asio::ip::make_address(cfg.bind, ec);
  return ec ? "'" + cfg.bind + "' is not an IP address" : "";
}

// The URL is kept for logs; the endpoint is what connections use.
std::string check_redis(config& cfg, bool) {
  std::string why;
  cfg.redis_sentinel.reset();
  cfg.redis_cluster.reset();
  if (cfg.redis_url.starts_with("cluster:")) {
    cfg.redis_cluster = redis::parse_cluster_url(cfg.redis_url, &why);
    return cfg.redis_cluster ? "" : "'" + cfg.redis_url + "': " + why;
  }
  if (cfg.redis_url.starts_with("sentinel:")) {
    cfg.redis_sentinel = redis::parse_sentinel_url(cfg.redis_url, &why);
    return cfg.redis_sentinel ? "" : "'" + cfg.redis_url + "': " + why;
  }
  auto ep = redis::parse_endpoint(cfg.redis_url, &why);
  if (!ep) return "'" + cfg.redis_url + "': " + why;
  cfg.redis = *ep;
  return "";
}

std::string check_node(config& cfg, bool) {
  return cfg.node.empty() || cfg.node.size() > 255 ? "must be 1 to 255 bytes" : "";
}

// Prefixes go into Redis keys and channel names verbatim, before the hash
// tags (redis_keys): a brace in the prefix would move every key's tag.
std::string check_prefix(config& cfg, bool) {
  bool ok = cfg.channel_prefix.size() <= 64;
  for (unsigned char c : cfg.channel_prefix) ok = ok && c > 0x20 && c != 0x7f && c != '{' && c != '}';
  return ok ? "" : "at most 64 bytes, no spaces, braces or control characters";
}

// A directory named explicitly must exist; the built-in default may not
// (an installed binary without the source tree), and then nothing is served.
std::string check_www_dir(config& cfg, bool given) {
  std::error_code ec;
  if (!given || cfg.www_dir.empty() || std::filesystem::is_directory(cfg.www_dir, ec)) return "";
  return "'" + cfg.www_dir + "' is not a directory";
}

// A file's whole text; nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A secret from a file, read after the flag that gives it directly, so that
// giving both is caught. The newline an editor or `echo` leaves is no part
// of the secret.
template <auto Secret, auto File>
std::string check_secret_file(config& cfg, bool given) {
  const std::string& path = cfg.*File;
  if (!given || path.empty()) return "";
  if (!(cfg.*Secret).empty()) return "give the secret once, on the command line or in a file, not both";
  auto text = read_file(path);
  if (!text) return "cannot read '" + path + "'";
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  if (text->empty()) return "'" + path + "' is empty";
  cfg.*Secret = std::move(*text);
  return "";
}

// A key anyone may guess in a few tries is no key: 16 bytes at least.
std::string check_api_key(config& cfg, bool) {
  return cfg.api_key.empty() || cfg.api_key.size() >= 16 ? "" : "must be 16 bytes or more";
}

std::string check_api_bind(config& cfg, bool) {
  error_code ec;
  asio::ip::make_address(cfg.api_bind, ec);
  return ec ? "'" + cfg.api_bind + "' is not an IP address" : "";
}

std::string check_public_key(config& cfg, bool given) {
  if (!given || cfg.auth_public_key.empty()) return "";
  auto text = read_file(cfg.auth_public_key);
  if (!text) return "cannot read '" + cfg.auth_public_key + "'";
  cfg.auth_public_key_pem = std::move(*text);
  return "";
}

std::string check_any(config&, bool) { return ""; }

// Each item a room pattern: a room name in which `*` matches any run.
std::string check_history_rooms(config& cfg, bool) {
  for (const auto& pattern : split_list(cfg.history_rooms))
    if (!protocol::is_valid_room_name(pattern)) return "'" + pattern + "' is not a room pattern (1 to 128 bytes, no control characters)";
  return "";
}

// One option_kind per kind and member, made at compile time.
template <typename K>
constexpr option_kind kind_of{&K::show, &K::declare, &K::store};

template <auto M> constexpr const option_kind* whole = &kind_of<whole_kind<M>>;
template <auto M> constexpr const option_kind* seconds = &kind_of<seconds_kind<M>>;
template <auto M> constexpr const option_kind* bytes = &kind_of<bytes_kind<M>>;
template <auto M> constexpr const option_kind* yes_no = &kind_of<yes_no_kind<M>>;
template <auto M> constexpr const option_kind* level = &kind_of<level_kind<M>>;
template <auto M, text_check C> constexpr const option_kind* text = &kind_of<text_kind<M, C>>;

// In --help order, which is also the order values are checked in. min and
// max are in the flag's unit: bytes, or the member's own for durations.
// clang-format off
constexpr option_row rows[] = {
  {.name = "bind", .kind = text<&config::bind, check_bind>, .help = "address to listen on"},
  {.name = "port", .kind = whole<&config::port>, .min = 1, .max = 65535, .help = "TCP port for WebSocket and HTTP"},
  {.name = "workers", .kind = whole<&config::workers>, .min = 1, .max = 1024,
   .help = "worker processes (default: hardware threads)"},
  {.name = "redis", .kind = text<&config::redis_url, check_redis>,
   .help = "Redis: redis://[[user]:password@]host[:port][/db], unix:///path[?db=N], or a Sentinel group: "
           "sentinel://[[user]:password@]host:port[,host:port...]/<master name>[?db=N&sentinel_password=...], "
           "or a Redis Cluster (sharded pub/sub): cluster://[[user]:password@]host:port[,host:port...]"},
  {.name = "node", .kind = text<&config::node, check_node>, .help = "node name sent in welcome (default: host name)"},
  {.name = "max-message-bytes", .kind = bytes<&config::max_message_bytes>, .min = 256, .max = 64 << 20,
   .help = "largest client message; larger ones close the connection with 1009"},
  {.name = "send-queue-bytes", .kind = bytes<&config::send_queue_bytes>, .min = 1024, .max = 1ull << 32,
   .help = "per-client outbound queue; past it the client is closed with 1008 slow consumer"},
  {.name = "max-inflight-requests", .kind = whole<&config::max_inflight_requests>, .min = 1, .max = 4096,
   .help = "requests one connection may have waiting on Redis; past it the connection is not read (answers keep request order)"},
  {.name = "channel-prefix", .kind = text<&config::channel_prefix, check_prefix>,
   .help = "prefix of every Redis key and channel (separates clusters sharing a Redis)"},
  {.name = "max-rooms-per-connection", .kind = whole<&config::max_rooms_per_connection>, .min = 1, .max = 100000,
   .help = "rooms one connection may be in; past it join answers too_many_rooms"},
  {.name = "liveness-seconds", .kind = seconds<&config::liveness_timeout>, .min = 0.3, .max = 3600,
   .help = "after this long without a heartbeat a worker is taken for dead and its clients leave presence"},
  {.name = "drain-seconds", .kind = whole<&config::drain_timeout>, .min = 0, .max = 3600,
   .help = "on SIGTERM, how long workers wait for clients to close before exiting"},
  {.name = "drain-notice-seconds", .kind = whole<&config::drain_notice>, .min = 0, .max = 3600,
   .help = "on SIGTERM, how long /healthz answers 503 before the listener closes (load balancer notice)"},
  {.name = "max-connections", .kind = whole<&config::max_connections>, .zero = "no limit",
   .help = "WebSocket connections per worker; past it upgrades get 503 (0: no limit)"},
  {.name = "handshake-seconds", .kind = whole<&config::handshake_timeout>, .min = 1, .max = 3600,
   .help = "deadline for a whole HTTP request and for the WebSocket handshake"},
  {.name = "idle-seconds", .kind = whole<&config::idle_timeout>, .min = 2, .max = 86400,
   .help = "a silent WebSocket peer is pinged after half to all of this and dropped half of it later"},
  {.name = "redis-pool-size", .kind = whole<&config::redis_pool_size>, .min = 1, .max = 1024,
   .help = "Redis command connections per worker (subscriptions use one more)"},
  {.name = "redis-pool-wait", .kind = yes_no<&config::redis_pool_wait>,
   .help = "when every pool connection is busy: yes = wait (up to --redis-pool-acquire-ms), no = fail at once"},
  {.name = "redis-pool-max-waiters", .kind = whole<&config::redis_pool_max_waiters>, .zero = "unlimited",
   .help = "callers that may wait for a pool connection; past it they fail at once (0: unlimited)"},
  {.name = "redis-pool-acquire-ms", .kind = whole<&config::redis_pool_acquire_timeout>, .min = 1, .max = 60000,
   .help = "how long a caller waits for a pool connection before failing (the client gets unavailable)"},
  {.name = "www-dir", .kind = text<&config::www_dir, check_www_dir>,
   .help = "directory of static files served over HTTP (the demo page at /); empty: none"},
  {.name = "static-max-bytes", .kind = bytes<&config::static_max_bytes>, .min = 1024, .max = 1 << 30,
   .help = "largest static file served; bigger ones answer 403"},
  {.name = "log-level", .kind = level<&config::log_level>, .help = "debug, info, warn or error"},
  {.name = "auth-secret", .kind = text<&config::auth_secret, check_any>,
   .help = "HS256 secret (32 bytes or more); with it or a public key every upgrade needs a JWT. Better in the "
           "environment (SWITCHBOARD_AUTH_SECRET) or a file than on the command line"},
  {.name = "auth-secret-file", .kind = text<&config::auth_secret_file, check_secret_file<&config::auth_secret, &config::auth_secret_file>>,
   .help = "file holding the HS256 secret (a trailing newline is dropped)"},
  {.name = "auth-public-key", .kind = text<&config::auth_public_key, check_public_key>,
   .help = "PEM public key file: an RSA key (2048 bits or more) verifies RS256, an EC P-256 key ES256"},
  {.name = "auth-leeway-seconds", .kind = whole<&config::auth_leeway>, .min = 0, .max = 3600,
   .help = "clock skew allowed on a token's exp and nbf"},
  {.name = "auth-issuer", .kind = text<&config::auth_issuer, check_any>,
   .help = "when set, a token's iss must equal it"},
  {.name = "auth-audience", .kind = text<&config::auth_audience, check_any>,
   .help = "when set, a token's aud (a string or an array) must name it"},
  {.name = "allowed-origins", .kind = text<&config::allowed_origins, check_any>,
   .help = "comma-separated origins an upgrade may come from, * matching any run (https://*.example.com); "
           "empty: any; an upgrade without Origin is always allowed"},
  {.name = "api-key", .kind = text<&config::api_key, check_api_key>,
   .help = "key of the backend API (/api/, Authorization: Bearer, 16 bytes or more); without it every /api/ route "
           "answers 404. Better in the environment (SWITCHBOARD_API_KEY) or a file"},
  {.name = "api-key-file", .kind = text<&config::api_key_file, check_secret_file<&config::api_key, &config::api_key_file>>,
   .help = "file holding the API key (a trailing newline is dropped)"},
  {.name = "api-port", .kind = whole<&config::api_port>, .min = 0, .max = 65535,
   .help = "serve the API on a listener of its own on this port (the public port then answers 404 for /api/); "
           "0: on the public port"},
  {.name = "api-bind", .kind = text<&config::api_bind, check_api_bind>,
   .help = "address of the API's own listener (with --api-port)"},
  {.name = "api-max-body-bytes", .kind = bytes<&config::api_max_body_bytes>, .min = 1024, .max = 64 << 20,
   .help = "largest API request body; larger ones answer 413"},
  {.name = "client-broadcast", .kind = yes_no<&config::client_broadcast>,
   .help = "whether clients may broadcast (with auth, also only with the token's broadcast claim); no: forbidden"},
  {.name = "client-rate", .kind = whole<&config::client_rate>, .zero = "no limit",
   .help = "requests per second one connection may send, sustained; over budget: rate_limited (0: no limit)"},
  {.name = "client-burst", .kind = whole<&config::client_burst>, .min = 1, .max = 1000000,
   .help = "requests one connection may send at once above --client-rate; refused this many more, it is closed "
           "with 1008 rate limited"},
  {.name = "history-rooms", .kind = text<&config::history_rooms, check_history_rooms>,
   .help = "comma-separated room patterns (chat:*,user:*) whose rooms keep history for recovery; empty: none"},
  {.name = "history-size", .kind = whole<&config::history_size>, .min = 1, .max = 100000,
   .help = "messages each history room keeps; a client further behind than this recovers nothing"},
  {.name = "history-ttl-seconds", .kind = whole<&config::history_ttl>, .min = 1, .max = 2592000,
   .help = "how long a history room's messages live after its last one (its epoch then changes)"},
};
// clang-format on

}  // namespace

std::span<const option_row> option_rows() { return rows; }

}  // namespace switchboard
