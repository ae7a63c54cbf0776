#include "common/config.hpp"
#include "common/option_rows.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace switchboard {
namespace {

using namespace std::chrono_literals;

// Changes environment variables for one test and puts them back afterwards.
class env_guard {
 public:
  env_guard() = default;
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;
  ~env_guard() {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }

  void set(const std::string& name, const std::string& value) {
    remember(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    remember(name);
    ::unsetenv(name.c_str());
  }

 private:
  void remember(const std::string& name) {
    if (saved_.count(name)) return;
    const char* old = std::getenv(name.c_str());
    saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
  }

  std::map<std::string, std::optional<std::string>> saved_;
};

// parse_config reads the whole environment: start every test from one
// without SWITCHBOARD_* or REDIS_URL, whatever the shell running it has.
class config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> ours;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string_view text = *entry;
      std::string name(text.substr(0, text.find('=')));
      if (name.rfind("SWITCHBOARD_", 0) == 0 || name == "REDIS_URL") ours.push_back(name);
    }
    for (const auto& name : ours) env_.unset(name);
  }

  static config parse(std::vector<std::string> args) {
    args.insert(args.begin(), "switchboard");
    std::vector<const char*> argv;
    for (const auto& arg : args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    return parse_config(static_cast<int>(args.size()), argv.data());
  }

  // The --help text.
  static std::string help_text() {
    try {
      parse({"--help"});
    } catch (const help_requested& e) {
      return e.what();
    }
    ADD_FAILURE() << "no help_requested";
    return {};
  }

  // The config_error message for `args`, or a note that there was none.
  static std::string error_of(std::vector<std::string> args) {
    try {
      parse(std::move(args));
    } catch (const config_error& e) {
      return e.what();
    }
    return "(no config_error)";
  }

  env_guard env_;
};

TEST_F(config_test, defaults) {
  config cfg = parse({});
  EXPECT_EQ(cfg.bind, "0.0.0.0");
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_EQ(cfg.workers, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(cfg.redis_url, "redis://127.0.0.1:6379");
  EXPECT_EQ(cfg.redis.host, "127.0.0.1");
  EXPECT_EQ(cfg.redis.port, 6379);
  EXPECT_FALSE(cfg.redis.is_unix());
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(cfg.node, host[0] != '\0' ? std::string(host) : std::string("node"));
  EXPECT_EQ(cfg.max_message_bytes, 64u * 1024);
  EXPECT_EQ(cfg.send_queue_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(cfg.max_inflight_requests, 32u);
  EXPECT_EQ(cfg.channel_prefix, "sb:");
  EXPECT_EQ(cfg.max_rooms_per_connection, 256u);
  EXPECT_EQ(cfg.liveness_timeout, 3000ms);
  EXPECT_EQ(cfg.drain_timeout, 10s);
  EXPECT_EQ(cfg.log_level, log::level::info);
  // One place for the pool's defaults: redis::pool_options.
  const redis::pool_options pool;
  EXPECT_EQ(cfg.redis_pool_size, pool.size);
  EXPECT_EQ(cfg.redis_pool_wait, pool.wait);
  EXPECT_EQ(cfg.redis_pool_max_waiters, pool.max_waiters);
  EXPECT_EQ(cfg.redis_pool_acquire_timeout, pool.acquire_timeout);
}

TEST_F(config_test, every_flag) {
  config cfg = parse({"--bind", "127.0.0.1", "--port", "9000", "--workers", "3", "--redis",
                      "redis://:pw@cache.local:7000/2", "--node", "edge-1", "--max-message-bytes", "1MiB",
                      "--send-queue-bytes", "8MiB", "--channel-prefix", "chat:", "--max-rooms-per-connection",
                      "10", "--liveness-seconds", "1.5", "--drain-seconds", "5", "--log-level", "debug"});
  EXPECT_EQ(cfg.bind, "127.0.0.1");
  EXPECT_EQ(cfg.port, 9000);
  EXPECT_EQ(cfg.workers, 3);
  EXPECT_EQ(cfg.redis_url, "redis://:pw@cache.local:7000/2");
  EXPECT_EQ(cfg.redis.host, "cache.local");
  EXPECT_EQ(cfg.redis.port, 7000);
  EXPECT_EQ(cfg.redis.password, "pw");
  EXPECT_EQ(cfg.redis.db, 2);
  EXPECT_EQ(cfg.node, "edge-1");
  EXPECT_EQ(cfg.max_message_bytes, 1u << 20);
  EXPECT_EQ(cfg.send_queue_bytes, 8u << 20);
  EXPECT_EQ(cfg.channel_prefix, "chat:");
  EXPECT_EQ(cfg.max_rooms_per_connection, 10u);
  EXPECT_EQ(cfg.liveness_timeout, 1500ms);
  EXPECT_EQ(cfg.drain_timeout, 5s);
  EXPECT_EQ(cfg.log_level, log::level::debug);
}

TEST_F(config_test, equals_form_ipv6_bind_and_unix_redis) {
  config cfg = parse({"--port=9001", "--bind=::1", "--redis=unix:///run/redis.sock?db=3", "--log-level=error"});
  EXPECT_EQ(cfg.port, 9001);
  EXPECT_EQ(cfg.bind, "::1");
  EXPECT_EQ(cfg.redis.socket_path, "/run/redis.sock");
  EXPECT_EQ(cfg.redis.db, 3);
  EXPECT_EQ(cfg.log_level, log::level::error);
}

TEST_F(config_test, sentinel_redis) {
  config cfg = parse({"--redis", "sentinel://:pw@127.0.0.1:26379,127.0.0.1:26380/cache?db=1"});
  ASSERT_TRUE(cfg.redis_sentinel);
  EXPECT_EQ(cfg.redis_sentinel->master_name, "cache");
  EXPECT_EQ(cfg.redis_sentinel->sentinels.size(), 2u);
  EXPECT_EQ(cfg.redis_sentinel->primary.password, "pw");
  EXPECT_EQ(cfg.redis_sentinel->primary.db, 1);
  EXPECT_EQ(describe_redis(cfg), "sentinel://127.0.0.1:26379,127.0.0.1:26380/cache?db=1");
  EXPECT_FALSE(parse({"--redis", "redis://h:1"}).redis_sentinel);
  EXPECT_NE(error_of({"--redis", "sentinel://h1/"}).find("--redis: 'sentinel://h1/': path must be /<master name>"),
            std::string::npos);
  EXPECT_NE(error_of({"--redis", "cluster://h1:7000/2"}).find("a cluster has only database 0"), std::string::npos);
}

TEST_F(config_test, cluster_redis) {
  config cfg = parse({"--redis", "cluster://:pw@127.0.0.1:7000,127.0.0.1:7001"});
  ASSERT_TRUE(cfg.redis_cluster);
  EXPECT_FALSE(cfg.redis_sentinel);
  EXPECT_EQ(cfg.redis_cluster->nodes.size(), 2u);
  EXPECT_EQ(cfg.redis_cluster->nodes[1].password, "pw");
  EXPECT_EQ(describe_redis(cfg), "cluster://127.0.0.1:7000,127.0.0.1:7001");
  EXPECT_FALSE(parse({"--redis", "redis://h:1"}).redis_cluster);
  EXPECT_NE(error_of({"--redis", "cluster://"}).find("--redis: 'cluster://': names no node"), std::string::npos);
}

TEST_F(config_test, environment_fills_in) {
  env_.set("SWITCHBOARD_PORT", "9100");
  env_.set("SWITCHBOARD_MAX_MESSAGE_BYTES", "128KiB");
  env_.set("SWITCHBOARD_CHANNEL_PREFIX", "env:");
  env_.set("SWITCHBOARD_LOG_LEVEL", "warn");
  env_.set("REDIS_URL", "redis://10.0.0.7:6380");
  config cfg = parse({});
  EXPECT_EQ(cfg.port, 9100);
  EXPECT_EQ(cfg.max_message_bytes, 128u * 1024);
  EXPECT_EQ(cfg.channel_prefix, "env:");
  EXPECT_EQ(cfg.log_level, log::level::warn);
  EXPECT_EQ(cfg.redis.host, "10.0.0.7");
  EXPECT_EQ(cfg.redis.port, 6380);
}

TEST_F(config_test, flag_wins_over_environment) {
  env_.set("SWITCHBOARD_PORT", "9100");
  env_.set("REDIS_URL", "redis://10.0.0.7:6380");
  config cfg = parse({"--port", "9200", "--redis", "redis://127.0.0.1:6390"});
  EXPECT_EQ(cfg.port, 9200);
  EXPECT_EQ(cfg.redis.port, 6390);
}

TEST_F(config_test, unrelated_environment_is_ignored) {
  env_.set("SWITCHBOARD_HELP", "1");
  env_.set("SWITCHBOARD_NO_SUCH_OPTION", "1");
  EXPECT_NO_THROW(parse({}));
}

TEST_F(config_test, bad_values_name_the_flag) {
  struct bad {
    std::vector<std::string> args;
    std::string flag;
  };
  const bad cases[] = {
      {{"--port", "0"}, "--port"},
      {{"--port", "65536"}, "--port"},
      {{"--port", "abc"}, "--port"},
      {{"--workers", "0"}, "--workers"},
      {{"--redis", "http://x"}, "--redis"},
      {{"--max-message-bytes", "12XB"}, "--max-message-bytes"},
      {{"--max-message-bytes", "1"}, "--max-message-bytes"},
      {{"--max-inflight-requests", "0"}, "--max-inflight-requests"},
      {{"--send-queue-bytes", "lots"}, "--send-queue-bytes"},
      {{"--bind", "nonsense"}, "--bind"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--channel-prefix", "has space"}, "--channel-prefix"},
      {{"--channel-prefix", "a{b}:"}, "--channel-prefix"},
      {{"--max-rooms-per-connection", "0"}, "--max-rooms-per-connection"},
      {{"--liveness-seconds", "0.1"}, "--liveness-seconds"},
      {{"--liveness-seconds", "nan"}, "--liveness-seconds"},
      {{"--drain-seconds", "-1"}, "--drain-seconds"},
      {{"--node", ""}, "--node"},
      {{"--frobnicate", "1"}, "--frobnicate"},
  };
  for (const auto& c : cases) {
    std::string message = error_of(c.args);
    EXPECT_NE(message.find(c.flag), std::string::npos) << c.args[0] << ' ' << c.args[1] << ": " << message;
  }
}

TEST_F(config_test, bad_environment_value_is_an_error) {
  env_.set("SWITCHBOARD_WORKERS", "0");
  EXPECT_NE(error_of({}).find("--workers"), std::string::npos);
}

TEST_F(config_test, help_lists_every_flag) {
  try {
    parse({"--help"});
    FAIL() << "no help_requested";
  } catch (const help_requested& e) {
    std::string text = e.what();
    for (const char* flag : {"--help", "--bind", "--port", "--workers", "--redis", "--node", "--max-message-bytes",
                             "--send-queue-bytes", "--channel-prefix", "--max-rooms-per-connection", "--liveness-seconds",
                             "--drain-seconds", "--log-level"})
      EXPECT_NE(text.find(flag), std::string::npos) << flag;
    EXPECT_NE(text.find("SWITCHBOARD_"), std::string::npos);
    EXPECT_NE(text.find("REDIS_URL"), std::string::npos);
  }
}

TEST_F(config_test, rows_are_named_once_with_help_and_a_range) {
  std::set<std::string> names;
  for (const auto& row : option_rows()) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name << " twice";
    EXPECT_NE(row.kind, nullptr) << row.name;
    EXPECT_STRNE(row.help, "") << row.name;
    EXPECT_LE(row.min, row.max) << row.name;
  }
  EXPECT_EQ(names.count("help"), 0u);  // --help is parse_config's own
}

// Parsing nothing gives config{} (but for the host's thread count, name and
// the build's www directory), and every default shown, given back as the
// flag's value, parses to the same value.
TEST_F(config_test, every_row_default_parses_back_to_the_aggregate) {
  const config aggregate{};
  const config parsed = parse({});
  const std::set<std::string> from_the_host{"workers", "node", "www-dir"};
  for (const auto& row : option_rows()) {
    const std::string shown = row.kind->show(parsed);
    if (!from_the_host.count(row.name)) {
      EXPECT_EQ(shown, row.kind->show(aggregate)) << row.name;
    }
    config again = parse({"--" + std::string(row.name), shown});
    EXPECT_EQ(row.kind->show(again), shown) << row.name;
  }
}

TEST_F(config_test, help_lists_every_row_with_its_default_and_help) {
  const config parsed = parse({});
  const std::string text = help_text();
  for (const auto& row : option_rows()) {
    // An empty default is shown as no default at all.
    const std::string shown = row.kind->show(parsed);
    const std::string flag = "--" + std::string(row.name) + " arg" + (shown.empty() ? " " : " (=" + shown + ")");
    EXPECT_NE(text.find(flag), std::string::npos) << flag << " not in:\n" << text;
    // The start of the help: the rest may be wrapped onto the next line.
    EXPECT_NE(text.find(std::string(row.help).substr(0, 25)), std::string::npos) << row.name;
  }
  // Each kind's way of showing its default.
  for (const char* flag : {"--max-message-bytes arg (=64KiB)", "--send-queue-bytes arg (=4MiB)",
                           "--static-max-bytes arg (=1MiB)", "--liveness-seconds arg (=3)", "--drain-seconds arg (=10)",
                           "--redis-pool-acquire-ms arg (=1000)", "--redis-pool-wait arg (=yes)",
                           "--log-level arg (=info)", "--port arg (=8080)"})
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

// A value no flag accepts, set as SWITCHBOARD_<NAME>, stops parsing with a
// message naming the flag: every row is read from the environment.
TEST_F(config_test, every_row_is_read_from_the_environment) {
  for (const auto& row : option_rows()) {
    std::string variable = "SWITCHBOARD_" + std::string(row.name);
    for (char& c : variable) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    env_guard env;
    const std::string value(300, 'x');
    env.set(variable, value);
    // Either the value is refused, naming the flag, or (free text such as
    // an issuer) it is taken as given: both show that it was read.
    std::string error = error_of({});
    if (error == "(no config_error)") EXPECT_EQ(row.kind->show(parse({})), value) << variable;
    else EXPECT_NE(error.find(row.name), std::string::npos) << variable;
  }
}

// A file in a fresh temporary directory, removed with the object.
class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    char dir[] = "/tmp/switchboard-config-XXXXXX";
    dir_ = ::mkdtemp(dir);
    path_ = dir_ + "/file";
    std::ofstream(path_) << text;
  }
  ~temp_file() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

const std::string long_secret = "a-secret-of-more-than-thirty-two-bytes";

TEST_F(config_test, auth_is_off_by_default) {
  config cfg = parse({});
  EXPECT_FALSE(cfg.auth_enabled());
  EXPECT_EQ(cfg.auth_leeway, 30s);
  EXPECT_EQ(cfg.allowed_origins, "");
}

TEST_F(config_test, auth_secret_from_a_flag_the_environment_or_a_file) {
  EXPECT_EQ(parse({"--auth-secret", long_secret}).auth_secret, long_secret);
  env_.set("SWITCHBOARD_AUTH_SECRET", long_secret);
  EXPECT_TRUE(parse({}).auth_enabled());
  env_.unset("SWITCHBOARD_AUTH_SECRET");
  temp_file file(long_secret + "\n");
  config cfg = parse({"--auth-secret-file", file.path()});
  EXPECT_EQ(cfg.auth_secret, long_secret) << "the trailing newline is dropped";
  EXPECT_TRUE(cfg.auth_enabled());
}

TEST_F(config_test, the_api_and_the_request_budget) {
  config defaults = parse({});
  EXPECT_FALSE(defaults.api_enabled());
  EXPECT_EQ(defaults.api_port, 0);
  EXPECT_EQ(defaults.api_bind, "127.0.0.1");
  EXPECT_EQ(defaults.api_max_body_bytes, 1024u * 1024u);
  EXPECT_TRUE(defaults.client_broadcast);
  EXPECT_EQ(defaults.client_rate, 100u);
  EXPECT_EQ(defaults.client_burst, 1000u);
  const std::string key = "api-key-0123456789";
  config cfg = parse({"--api-key", key, "--api-port", "9001", "--api-max-body-bytes", "2MiB", "--client-rate", "0",
                      "--client-broadcast", "no"});
  EXPECT_TRUE(cfg.api_enabled());
  EXPECT_EQ(cfg.api_port, 9001);
  EXPECT_EQ(cfg.api_max_body_bytes, 2u << 20);
  EXPECT_EQ(cfg.client_rate, 0u);
  EXPECT_FALSE(cfg.client_broadcast);
  env_.set("SWITCHBOARD_API_KEY", key);
  EXPECT_EQ(parse({}).api_key, key);
  env_.unset("SWITCHBOARD_API_KEY");
  temp_file file(key + "\n");
  EXPECT_EQ(parse({"--api-key-file", file.path()}).api_key, key) << "the trailing newline is dropped";
}

TEST_F(config_test, history_rooms_size_and_ttl) {
  config defaults = parse({});
  EXPECT_EQ(defaults.history_rooms, "");
  EXPECT_EQ(defaults.history_size, 100u);
  EXPECT_EQ(defaults.history_ttl, std::chrono::seconds(600));
  config cfg = parse({"--history-rooms", "chat:*, user:*", "--history-size", "5", "--history-ttl-seconds", "30"});
  EXPECT_EQ(cfg.history_rooms, "chat:*, user:*");
  EXPECT_EQ(cfg.history_size, 5u);
  EXPECT_EQ(cfg.history_ttl, std::chrono::seconds(30));
  EXPECT_NE(error_of({"--history-size", "0"}).find("--history-size: must be between 1 and 100000"), std::string::npos);
  EXPECT_NE(error_of({"--history-ttl-seconds", "0"}).find("--history-ttl-seconds"), std::string::npos);
  EXPECT_NE(error_of({"--history-rooms", std::string("chat:*,a\x01b")}).find("--history-rooms: 'a\x01b' is not a room pattern"),
            std::string::npos);
}

TEST_F(config_test, bad_api_and_budget_settings_stop_start_up_naming_the_flag) {
  EXPECT_NE(error_of({"--api-key", "short"}).find("--api-key: must be 16 bytes or more"), std::string::npos);
  temp_file file("api-key-0123456789");
  EXPECT_NE(error_of({"--api-key", "api-key-0123456789", "--api-key-file", file.path()}).find("not both"),
            std::string::npos);
  EXPECT_NE(error_of({"--api-port", "9001"}).find("--api-port: the API is off without --api-key"), std::string::npos);
  EXPECT_NE(error_of({"--api-key", "api-key-0123456789", "--port", "9001", "--api-port", "9001"})
                .find("--api-port: must differ from --port"),
            std::string::npos);
  EXPECT_NE(error_of({"--api-bind", "localhost"}).find("--api-bind: 'localhost' is not an IP address"),
            std::string::npos);
  EXPECT_NE(error_of({"--api-max-body-bytes", "10"}).find("--api-max-body-bytes"), std::string::npos);
  EXPECT_NE(error_of({"--client-burst", "0"}).find("--client-burst"), std::string::npos);
  EXPECT_NE(error_of({"--client-rate", "-1"}).find("--client-rate"), std::string::npos);
  EXPECT_NE(error_of({"--client-broadcast", "maybe"}).find("--client-broadcast: 'maybe' is not yes or no"),
            std::string::npos);
}

TEST_F(config_test, bad_auth_settings_stop_start_up_naming_the_flag) {
  EXPECT_NE(error_of({"--auth-secret", "short"}).find("--auth-secret: HMAC secret is 5 bytes"), std::string::npos);
  temp_file file(long_secret);
  EXPECT_NE(error_of({"--auth-secret", long_secret, "--auth-secret-file", file.path()}).find("not both"),
            std::string::npos);
  EXPECT_NE(error_of({"--auth-secret-file", "/nonexistent/secret"}).find("--auth-secret-file: cannot read"),
            std::string::npos);
  EXPECT_NE(error_of({"--auth-public-key", "/nonexistent/key.pem"}).find("--auth-public-key: cannot read"),
            std::string::npos);
  temp_file not_a_key("hello");
  EXPECT_NE(error_of({"--auth-public-key", not_a_key.path()}).find("--auth-public-key: public key"),
            std::string::npos);
  EXPECT_NE(error_of({"--auth-leeway-seconds", "-1"}).find("--auth-leeway-seconds"), std::string::npos);
}

}  // namespace
}  // namespace switchboard
