#include "common/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <sstream>
#include <thread>

#include "common/auth/verifier.hpp"
#include "common/option_rows.hpp"

namespace switchboard {
namespace po = boost::program_options;
namespace {

std::string default_node_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "node";
  return host;
}

// config{} and what only this host and build know: those defaults are
// shown by --help like any other.
config host_defaults() {
  config cfg;
  cfg.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cfg.node = default_node_name();
  cfg.www_dir = SWITCHBOARD_DEFAULT_WWW_DIR;
  return cfg;
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

// The command line, then the environment for what it left out.
po::variables_map read_options(const po::options_description& desc, int argc, const char* const argv[]) {
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::store(po::parse_environment(desc, [&desc](const std::string& v) { return env_to_option(desc, v); }), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw config_error(e.what());
  }
  return vm;
}

}  // namespace

auth::verifier_config verifier_settings(const config& cfg) {
  auth::verifier_config settings;
  settings.hmac_secret = cfg.auth_secret;
  settings.public_key_pem = cfg.auth_public_key_pem;
  settings.leeway_seconds = cfg.auth_leeway.count();
  if (!cfg.auth_issuer.empty()) settings.issuer = cfg.auth_issuer;
  if (!cfg.auth_audience.empty()) settings.audience = cfg.auth_audience;
  return settings;
}

std::string describe_redis(const config& cfg) {
  if (cfg.redis_cluster) return cfg.redis_cluster->describe();
  return cfg.redis_sentinel ? cfg.redis_sentinel->describe() : cfg.redis.describe();
}

config parse_config(int argc, const char* const argv[]) {
  const config defaults = host_defaults();
  po::options_description desc(
      "Usage: switchboard [options]\n\n"
      "Every option can also be set in the environment as SWITCHBOARD_<OPTION>\n"
      "(e.g. SWITCHBOARD_PORT=9000); REDIS_URL sets --redis. Flags win.\n\nOptions",
      100, 50);
  // Every row is declared before anything is read: the environment is
  // matched against these names, and --help prints them all.
  desc.add_options()("help,h", "print this help and exit");
  for (const auto& row : option_rows()) desc.add_options()(row.name, row.kind->declare(defaults), row.help);

  const po::variables_map vm = read_options(desc, argc, argv);
  if (vm.count("help")) {
    std::ostringstream out;
    out << desc;
    throw help_requested(out.str());
  }
  // Defaulted values go through the rows too: a default out of its own
  // range would stop start-up here, not misbehave later.
  config cfg = defaults;
  for (const auto& row : option_rows()) row.kind->store(row, vm[row.name], cfg);
  // The keys are checked as the workers will use them: a short secret, a
  // private or unsupported key stops start-up here.
  if (cfg.auth_enabled()) {
    try {
      auth::verifier check(verifier_settings(cfg));
    } catch (const std::invalid_argument& e) {
      bool key = std::string_view(e.what()).starts_with("public key");
      throw config_error(std::string(key ? "--auth-public-key" : "--auth-secret") + ": " + e.what());
    }
  }
  if (cfg.api_port != 0) {
    if (!cfg.api_enabled()) throw config_error("--api-port: the API is off without --api-key");
    if (cfg.api_port == cfg.port) throw config_error("--api-port: must differ from --port");
  }
  return cfg;
}

}  // namespace switchboard
