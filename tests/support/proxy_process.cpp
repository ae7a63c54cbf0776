#include "tests/support/proxy_process.hpp"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/http_get.hpp"

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto poll_interval = 20ms;
// Both start in tens of milliseconds; the rest is for a loaded machine.
constexpr auto start_timeout = 10s;
constexpr auto stop_grace = 5s;
constexpr auto check_timeout = 10s;

using variables = std::vector<std::pair<std::string, std::string>>;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::filesystem::path make_temp_dir(proxy_kind kind) {
  std::string pattern = ::testing::TempDir() + "switchboard-" + std::string(program_name(kind)) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  return pattern;
}

std::string loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// The variables the shipped files read: the listening address, the nodes,
// and what the kind needs besides (HAProxy's stats page, nginx's access log).
variables config_variables(proxy_kind kind, const std::filesystem::path& dir, std::uint16_t port,
                           std::uint16_t stats_port, const std::vector<std::string>& nodes) {
  variables vars{{"SB_LISTEN", loopback(port)}};
  if (kind == proxy_kind::haproxy) vars.emplace_back("SB_STATS", loopback(stats_port));
  if (kind == proxy_kind::nginx) vars.emplace_back("SB_ACCESS_LOG", (dir / "access.log").string());
  for (std::size_t i = 0; i < nodes.size(); ++i) vars.emplace_back("SB_NODE" + std::to_string(i + 1), nodes[i]);
  return vars;
}

// The command that runs (or with `check`, checks) the configuration. HAProxy
// takes the variables from its environment; `env` sets them and then execs
// haproxy, so the pid stays the balancer's. SB_USER is unset: a test runs
// HAProxy as whoever runs the test. nginx gets the rendered file and its own
// pid and error log in `dir`, and stays in the foreground.
std::vector<std::string> command_line(proxy_kind kind, const std::filesystem::path& config,
                                      const std::filesystem::path& dir, const variables& vars, bool check) {
  auto program = find_program(program_name(kind));
  if (!program) throw std::runtime_error(std::string(program_name(kind)) + " is not installed");
  if (kind == proxy_kind::haproxy) {
    std::vector<std::string> argv{"/usr/bin/env", "-u", "SB_USER"};
    for (const auto& [name, value] : vars) argv.push_back(name + "=" + value);
    argv.insert(argv.end(), {*program, check ? "-c" : "-db", "-f", config.string()});
    return argv;
  }
  std::string text = render_template(read_file(config), vars);
  if (auto left = text.find("${SB_"); left != std::string::npos)
    throw std::runtime_error(config.string() + " uses a variable the test does not set: " + text.substr(left, 20));
  const auto rendered = dir / "nginx.conf";
  write_file(rendered, text);
  std::string globals = "pid " + (dir / "nginx.pid").string() + "; error_log " + (dir / "error.log").string() + " notice;";
  if (!check) globals = "daemon off; " + globals;
  std::vector<std::string> argv{*program};
  if (check) argv.push_back("-t");
  argv.insert(argv.end(), {"-p", dir.string() + "/", "-c", rendered.string(), "-g", globals});
  return argv;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  for (;;) {
    auto at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

}  // namespace

std::filesystem::path deploy_file(std::string_view relative) {
  return std::filesystem::path(SWITCHBOARD_DEPLOY_DIR) / relative;
}

std::string_view program_name(proxy_kind kind) { return kind == proxy_kind::haproxy ? "haproxy" : "nginx"; }

std::optional<std::string> find_program(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin";
  for (const auto& dir : split(dirs, ':')) {
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string render_template(std::string_view text, const variables& vars) {
  std::string out;
  for (;;) {
    auto open = text.find("${");
    auto close = open == std::string_view::npos ? open : text.find('}', open);
    if (close == std::string_view::npos) {
      out += text;
      return out;
    }
    std::string_view name = text.substr(open + 2, close - open - 2);
    out += text.substr(0, open);
    auto known = std::find_if(vars.begin(), vars.end(), [&](const auto& var) { return var.first == name; });
    out += known != vars.end() ? std::string_view(known->second) : text.substr(open, close - open + 1);
    text.remove_prefix(close + 1);
  }
}

proxy_process::proxy_process(proxy_kind kind, std::filesystem::path config, std::vector<std::string> nodes)
    : kind_(kind), config_(std::move(config)), nodes_(std::move(nodes)), dir_(make_temp_dir(kind)) {
  // Another process may take a reserved port before the balancer binds it;
  // then it exits at once, and fresh ports are worth another try.
  for (int attempt = 1;; ++attempt) {
    port_ = free_tcp_port();
    if (kind_ == proxy_kind::haproxy) stats_port_ = free_tcp_port();
    launch();
    try {
      wait_ready(start_timeout);
      return;
    } catch (const std::runtime_error&) {
      std::string log = log_tail();
      bool port_taken = !running() && (log.find("in use") != std::string::npos ||
                                        log.find("cannot bind") != std::string::npos);
      if (!port_taken || attempt == 3) {
        stop();
        throw;
      }
    }
  }
}

proxy_process::~proxy_process() {
  stop();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- " << program_name(kind_) << " log tail (" << dir_.string() << ") ----\n"
              << log_tail() << "\n---- end of " << program_name(kind_) << " log ----\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

config_check proxy_process::check(proxy_kind kind, const std::filesystem::path& config,
                                  const std::vector<std::string>& nodes) {
  const auto dir = make_temp_dir(kind);
  const auto output = dir / "check.log";
  config_check result;
  {
    // Neither check binds anything: any port will do.
    auto vars = config_variables(kind, dir, free_tcp_port(), free_tcp_port(), nodes);
    child_process checker(command_line(kind, config, dir, vars, true), output, output);
    result.status = checker.wait_for(check_timeout).value_or(-1);
  }
  result.output = read_file(output);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

std::string proxy_process::ws_url() const { return "ws://" + loopback(port_) + "/ws"; }

std::string proxy_process::log_tail(std::size_t bytes) const {
  std::string all = read_file(log_path());
  // nginx writes its errors to its own file, as the test asked it to.
  if (kind_ == proxy_kind::nginx) all = read_file(dir_ / "error.log") + all;
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

std::string proxy_process::server_status(std::string_view name) const {
  if (kind_ != proxy_kind::haproxy) return {};
  auto page = http_get(stats_port_, "/;csv", 2s);
  if (page.status != 200) return {};
  // CSV: pxname, svname, then counters; "status" is the 18th column.
  constexpr std::size_t status_column = 17;
  for (const auto& line : split(page.body, '\n')) {
    auto fields = split(line, ',');
    if (fields.size() > status_column && fields[0] == "switchboard" && fields[1] == name) return fields[status_column];
  }
  return {};
}

void proxy_process::stop() {
  if (!running()) return;
  // nginx's workers do not exit when their master is killed; SIGTERM lets
  // the master stop them, and whatever is left after it goes is killed.
  auto workers = children();
  process_->stop(stop_grace);
  for (pid_t pid : workers) {
    std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm");
    if (comm.starts_with(program_name(kind_))) ::kill(pid, SIGKILL);
  }
}

void proxy_process::launch() {
  auto vars = config_variables(kind_, dir_, port_, stats_port_, nodes_);
  process_.reset();
  process_.emplace(command_line(kind_, config_, dir_, vars, false), log_path(), log_path());
}

void proxy_process::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    if (auto status = process_->wait_for(0ms))
      throw std::runtime_error(std::string(program_name(kind_)) + " " + describe_wait_status(*status) +
                               " during start-up; log:\n" + log_tail());
    auto health = http_get(port_, "/healthz", 1s);
    if (health.status == 200) return;
    last = health.status == 0 ? health.error : "answered " + std::to_string(health.status);
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error(std::string(program_name(kind_)) + " on port " + std::to_string(port_) +
                               ": /healthz through it not 200 within " + std::to_string(timeout.count()) +
                               " ms (last: " + last + "); log:\n" + log_tail());
    std::this_thread::sleep_for(poll_interval);
  }
}

std::vector<pid_t> proxy_process::children() const {
  return running() ? live_children(process_->pid()) : std::vector<pid_t>{};
}

}  // namespace switchboard::testing
