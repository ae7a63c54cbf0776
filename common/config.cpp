#include "common/config.hpp"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/byte_size.hpp"
#include "common/net.hpp"

namespace switchboard {
namespace po = boost::program_options;
namespace {

std::string default_node_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "node";
  return host;
}

// SWITCHBOARD_MAX_MESSAGE_BYTES -> max-message-bytes; REDIS_URL -> redis.
std::string env_to_option(const po::options_description& desc, const std::string& variable) {
  if (variable == "REDIS_URL") return "redis";
  static const std::string prefix = "SWITCHBOARD_";
  if (variable.rfind(prefix, 0) != 0) return {};
  std::string name = variable.substr(prefix.size());
  for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "help" || desc.find_nothrow(name, false) == nullptr) return {};
  return name;
}

std::size_t byte_size_option(const po::variables_map& vm, const char* name, std::size_t min, std::size_t max) {
  const auto& text = vm[name].as<std::string>();
  auto value = parse_byte_size(text);
  if (!value) throw config_error("--" + std::string(name) + ": '" + text + "' is not a size (e.g. 65536, 64KiB, 4MiB)");
  if (*value < min || *value > max)
    throw config_error("--" + std::string(name) + ": must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + " bytes");
  return *value;
}

log::level parse_level(const std::string& text) {
  if (text == "debug") return log::level::debug;
  if (text == "info") return log::level::info;
  if (text == "warn") return log::level::warn;
  if (text == "error") return log::level::error;
  throw config_error("--log-level: '" + text + "' is not one of debug, info, warn, error");
}

bool valid_prefix(const std::string& prefix) {
  if (prefix.size() > 64) return false;
  for (unsigned char c : prefix)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

config parse_config(int argc, const char* const argv[]) {
  config cfg;
  cfg.www_dir = SWITCHBOARD_DEFAULT_WWW_DIR;
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  po::options_description desc(
      "Usage: switchboard [options]\n\n"
      "Every option can also be set in the environment as SWITCHBOARD_<OPTION>\n"
      "(e.g. SWITCHBOARD_PORT=9000); REDIS_URL sets --redis. Flags win.\n\nOptions",
      100, 50);
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("bind", po::value<std::string>()->default_value(cfg.bind), "address to listen on")
    ("port", po::value<int>()->default_value(cfg.port), "TCP port for WebSocket and HTTP")
    ("workers", po::value<int>()->default_value(hardware), "worker processes (default: hardware threads)")
    ("redis", po::value<std::string>()->default_value(cfg.redis_url),
       "Redis: redis://[:password@]host[:port][/db] or unix:///path[?db=N]")
    ("node", po::value<std::string>()->default_value(default_node_name()), "node name sent in welcome (default: host name)")
    ("max-message-bytes", po::value<std::string>()->default_value("64KiB"),
       "largest client message; larger ones close the connection with 1009")
    ("send-queue-bytes", po::value<std::string>()->default_value("4MiB"),
       "per-client outbound queue; past it the client is closed with 1008 slow consumer")
    ("channel-prefix", po::value<std::string>()->default_value(cfg.channel_prefix),
       "prefix of every Redis key and channel (separates clusters sharing a Redis)")
    ("max-rooms-per-connection", po::value<int>()->default_value(static_cast<int>(cfg.max_rooms_per_connection)),
       "rooms one connection may be in; past it join answers too_many_rooms")
    ("liveness-seconds", po::value<double>()->default_value(3.0),
       "after this long without a heartbeat a worker is taken for dead and its clients leave presence")
    ("drain-seconds", po::value<int>()->default_value(static_cast<int>(cfg.drain_timeout.count())),
       "on SIGTERM, how long workers wait for clients to close before exiting")
    ("drain-notice-seconds", po::value<int>()->default_value(static_cast<int>(cfg.drain_notice.count())),
       "on SIGTERM, how long /healthz answers 503 before the listener closes (load balancer notice)")
    ("max-connections", po::value<int>()->default_value(0),
       "WebSocket connections per worker; past it upgrades get 503 (0: no limit)")
    ("handshake-seconds", po::value<int>()->default_value(static_cast<int>(cfg.handshake_timeout.count())),
       "deadline for a whole HTTP request and for the WebSocket handshake")
    ("idle-seconds", po::value<int>()->default_value(static_cast<int>(cfg.idle_timeout.count())),
       "a silent WebSocket peer is pinged after half of this and dropped after all of it")
    ("redis-pool-size", po::value<int>()->default_value(static_cast<int>(cfg.redis_pool_size)),
       "Redis command connections per worker (subscriptions use one more)")
    ("redis-pool-wait", po::value<std::string>()->default_value("yes"),
       "when every pool connection is busy: yes = wait (up to --redis-pool-acquire-ms), no = fail at once")
    ("redis-pool-max-waiters", po::value<int>()->default_value(0),
       "callers that may wait for a pool connection; past it they fail at once (0: unlimited)")
    ("redis-pool-acquire-ms", po::value<int>()->default_value(static_cast<int>(cfg.redis_pool_acquire_timeout.count())),
       "how long a caller waits for a pool connection before failing (the client gets unavailable)")
    ("www-dir", po::value<std::string>()->default_value(cfg.www_dir),
       "directory of static files served over HTTP (the demo page at /); empty: none")
    ("static-max-bytes", po::value<std::string>()->default_value("1MiB"),
       "largest static file served; bigger ones answer 403")
    ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn or error");
  // clang-format on

  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::store(po::parse_environment(desc, [&desc](const std::string& v) { return env_to_option(desc, v); }), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw config_error(e.what());
  }
  if (vm.count("help")) {
    std::ostringstream out;
    out << desc;
    throw help_requested(out.str());
  }

  cfg.bind = vm["bind"].as<std::string>();
  error_code ec;
  asio::ip::make_address(cfg.bind, ec);
  if (ec) throw config_error("--bind: '" + cfg.bind + "' is not an IP address");

  int port = vm["port"].as<int>();
  if (port < 1 || port > 65535) throw config_error("--port: must be between 1 and 65535");
  cfg.port = static_cast<std::uint16_t>(port);

  cfg.workers = vm["workers"].as<int>();
  if (cfg.workers < 1 || cfg.workers > 1024) throw config_error("--workers: must be between 1 and 1024");

  cfg.redis_url = vm["redis"].as<std::string>();
  std::string why;
  auto ep = redis::parse_endpoint(cfg.redis_url, &why);
  if (!ep) throw config_error("--redis: '" + cfg.redis_url + "': " + why);
  cfg.redis = *ep;

  cfg.node = vm["node"].as<std::string>();
  if (cfg.node.empty() || cfg.node.size() > 255) throw config_error("--node: must be 1 to 255 bytes");

  cfg.max_message_bytes = byte_size_option(vm, "max-message-bytes", 256, 64 * 1024 * 1024);
  cfg.send_queue_bytes = byte_size_option(vm, "send-queue-bytes", 1024, std::size_t{1} << 32);

  cfg.channel_prefix = vm["channel-prefix"].as<std::string>();
  if (!valid_prefix(cfg.channel_prefix))
    throw config_error("--channel-prefix: at most 64 bytes, no spaces or control characters");

  int max_rooms = vm["max-rooms-per-connection"].as<int>();
  if (max_rooms < 1 || max_rooms > 100000) throw config_error("--max-rooms-per-connection: must be between 1 and 100000");
  cfg.max_rooms_per_connection = static_cast<std::size_t>(max_rooms);

  double liveness = vm["liveness-seconds"].as<double>();
  if (!(liveness >= 0.3 && liveness <= 3600)) throw config_error("--liveness-seconds: must be between 0.3 and 3600");
  cfg.liveness_timeout = std::chrono::milliseconds(static_cast<long>(liveness * 1000));

  int drain = vm["drain-seconds"].as<int>();
  if (drain < 0 || drain > 3600) throw config_error("--drain-seconds: must be between 0 and 3600");
  cfg.drain_timeout = std::chrono::seconds(drain);

  int notice = vm["drain-notice-seconds"].as<int>();
  if (notice < 0 || notice > 3600) throw config_error("--drain-notice-seconds: must be between 0 and 3600");
  cfg.drain_notice = std::chrono::seconds(notice);

  int max_connections = vm["max-connections"].as<int>();
  if (max_connections < 0) throw config_error("--max-connections: must be 0 (no limit) or more");
  cfg.max_connections = static_cast<std::size_t>(max_connections);

  int handshake = vm["handshake-seconds"].as<int>();
  if (handshake < 1 || handshake > 3600) throw config_error("--handshake-seconds: must be between 1 and 3600");
  cfg.handshake_timeout = std::chrono::seconds(handshake);

  int idle = vm["idle-seconds"].as<int>();
  if (idle < 2 || idle > 86400) throw config_error("--idle-seconds: must be between 2 and 86400");
  cfg.idle_timeout = std::chrono::seconds(idle);

  int pool_size = vm["redis-pool-size"].as<int>();
  if (pool_size < 1 || pool_size > 1024) throw config_error("--redis-pool-size: must be between 1 and 1024");
  cfg.redis_pool_size = static_cast<std::size_t>(pool_size);
  const auto& wait = vm["redis-pool-wait"].as<std::string>();
  if (wait != "yes" && wait != "no") throw config_error("--redis-pool-wait: '" + wait + "' is not yes or no");
  cfg.redis_pool_wait = wait == "yes";
  int max_waiters = vm["redis-pool-max-waiters"].as<int>();
  if (max_waiters < 0) throw config_error("--redis-pool-max-waiters: must be 0 (unlimited) or more");
  cfg.redis_pool_max_waiters = static_cast<std::size_t>(max_waiters);
  int acquire_ms = vm["redis-pool-acquire-ms"].as<int>();
  if (acquire_ms < 1 || acquire_ms > 60000) throw config_error("--redis-pool-acquire-ms: must be between 1 and 60000");
  cfg.redis_pool_acquire_timeout = std::chrono::milliseconds(acquire_ms);

  cfg.www_dir = vm["www-dir"].as<std::string>();
  // A directory named explicitly must exist; the built-in default may not
  // (an installed binary without the source tree), and then nothing is served.
  std::error_code fs_error;
  if (!vm["www-dir"].defaulted() && !cfg.www_dir.empty() && !std::filesystem::is_directory(cfg.www_dir, fs_error))
    throw config_error("--www-dir: '" + cfg.www_dir + "' is not a directory");
  cfg.static_max_bytes = byte_size_option(vm, "static-max-bytes", 1024, std::size_t{1} << 30);

  cfg.log_level = parse_level(vm["log-level"].as<std::string>());
  return cfg;
}

}  // namespace switchboard
