#include "tests/support/node_process.hpp"

#include <stdlib.h>

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
constexpr auto start_timeout = 15s;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int broadcast_subscribers(const redis_process& redis, const std::string& prefix) {
  // redis_process::command prints the reply to PUBSUB NUMSUB as "[channel, N]".
  std::string reply = redis.command({"PUBSUB", "NUMSUB", prefix + "broadcast"});
  auto comma = reply.rfind(", ");
  if (comma == std::string::npos) return -1;
  int count = -1;
  std::from_chars(reply.data() + comma + 2, reply.data() + reply.size(), count);
  return count;
}

node_process::node_process(std::string binary, const redis_process& redis, node_options options)
    : binary_(std::move(binary)), redis_(redis), options_(std::move(options)) {
  std::string pattern = ::testing::TempDir() + "switchboard-" + options_.name + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  dir_ = pattern;
  const int baseline = broadcast_subscribers(redis_, options_.channel_prefix);
  // Another process may take the reserved port before the node binds it;
  // then the node exits at once, and a fresh port is worth another try.
  for (int attempt = 1;; ++attempt) {
    port_ = free_tcp_port();
    launch();
    try {
      wait_ready(baseline, start_timeout);
      return;
    } catch (const std::runtime_error&) {
      bool port_taken = !running() && log_tail().find("in use") != std::string::npos;
      if (!port_taken || attempt == 3) throw;
    }
  }
}

node_process::~node_process() {
  if (running()) stop();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- node " << options_.name << " log tail (" << log_path().string() << ") ----\n"
              << log_tail() << "\n---- end of node " << options_.name << " log ----\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string node_process::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string node_process::ws_url() const { return "ws://" + address() + "/ws"; }

pid_t node_process::pid() const { return running() ? master_->pid() : -1; }

bool node_process::running() const { return master_ && master_->running(); }

std::string node_process::log_tail(std::size_t bytes) const {
  std::string all = read_file(log_path());
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

void node_process::signal(int sig) {
  if (running()) master_->signal(sig);
}

std::optional<int> node_process::wait_exit(std::chrono::milliseconds timeout) {
  if (!master_) return std::nullopt;
  return master_->wait_for(timeout);
}

int node_process::stop(std::chrono::milliseconds grace) {
  if (!running()) return master_ ? master_->status().value_or(0) : 0;
  return master_->stop(grace);
}

void node_process::launch() {
  std::vector<std::string> argv{binary_,
                                "--bind",
                                "127.0.0.1",
                                "--port",
                                std::to_string(port_),
                                "--workers",
                                std::to_string(options_.workers),
                                "--redis",
                                redis_.url(),
                                "--node",
                                options_.name,
                                "--channel-prefix",
                                options_.channel_prefix,
                                "--drain-seconds",
                                std::to_string(options_.drain_seconds)};
  argv.insert(argv.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  master_.reset();
  master_.emplace(argv, log_path(), log_path());
}

void node_process::wait_ready(int baseline, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int wanted = std::max(baseline, 0) + options_.workers;
  std::string last;
  for (;;) {
    if (auto status = master_->wait_for(0ms))
      throw std::runtime_error("node " + options_.name + " " + describe_wait_status(*status) +
                               " during start-up; log:\n" + log_tail());
    auto health = http_get(port_, "/healthz", 1s);
    if (health.status != 200) {
      last = health.status == 0 ? "/healthz: " + health.error : "/healthz answered " + std::to_string(health.status);
    } else {
      try {
        int subscribers = broadcast_subscribers(redis_, options_.channel_prefix);
        if (subscribers == wanted) return;
        last = std::to_string(subscribers) + " subscribers, waiting for " + std::to_string(wanted);
      } catch (const std::runtime_error& e) {
        last = std::string("PUBSUB NUMSUB: ") + e.what();
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("node " + options_.name + " on port " + std::to_string(port_) + " not ready within " +
                               std::to_string(timeout.count()) + " ms (last: " + last + "); log:\n" + log_tail());
    std::this_thread::sleep_for(poll_interval);
  }
}

}  // namespace switchboard::testing
