#include "tests/support/node_process.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <set>
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

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A TCP socket on this machine, from /proc/net/tcp.
struct tcp_socket {
  unsigned long local_port = 0;
  unsigned long remote_port = 0;
  std::string inode;
};

// /proc/net/tcp: "sl local_address rem_address st ... uid timeout inode",
// addresses as hex "IP:PORT". Sockets in TIME_WAIT belong to nobody and
// show inode 0: they are left out.
std::vector<tcp_socket> tcp_sockets() {
  std::vector<tcp_socket> sockets;
  std::istringstream table(read_file("/proc/net/tcp"));
  std::string line;
  std::getline(table, line);  // header
  auto port_of = [](const std::string& address) {
    auto colon = address.find(':');
    return colon == std::string::npos ? 0ul : std::stoul(address.substr(colon + 1), nullptr, 16);
  };
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, skip;
    tcp_socket socket;
    fields >> slot >> local >> remote;
    for (int i = 0; i < 6; ++i) fields >> skip;
    fields >> socket.inode;
    if (socket.inode.empty() || socket.inode == "0") continue;
    socket.local_port = port_of(local);
    socket.remote_port = port_of(remote);
    sockets.push_back(std::move(socket));
  }
  return sockets;
}

// The inodes of the sockets `pid` has open.
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    std::string target = std::filesystem::read_symlink(fd.path(), link_ec).string();
    if (target.starts_with("socket:[") && target.ends_with("]")) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// The channels held (sub=, plus ssub= for shard channels on a Redis
// Cluster) on the CLIENT LIST line of the connection from local port
// `port`; 0 when there is no such connection.
int subscriptions_of(const std::string& client_list, unsigned long port) {
  const std::string addr = "addr=127.0.0.1:" + std::to_string(port) + " ";
  auto at = client_list.find(addr);
  if (at == std::string::npos) return 0;
  auto end = client_list.find('\n', at);
  int total = 0;
  for (std::string field : {" sub=", " ssub="}) {
    auto found = client_list.find(field, at);
    if (found == std::string::npos || found > end) continue;
    int count = 0;
    std::from_chars(client_list.data() + found + field.size(), client_list.data() + client_list.size(), count);
    total += count;
  }
  return total;
}

}  // namespace

node_process::node_process(std::string binary, const redis_process& redis, node_options options)
    : binary_(std::move(binary)), redis_(redis), options_(std::move(options)) {
  std::string pattern = ::testing::TempDir() + "switchboard-" + options_.node + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  dir_ = pattern;
  // Another process may take the reserved port before the node binds it;
  // then the node exits at once, and a fresh port is worth another try.
  for (int attempt = 1;; ++attempt) {
    port_ = free_tcp_port();
    launch();
    try {
      wait_ready();
      return;
    } catch (const std::runtime_error&) {
      bool port_taken = !running() && log_tail().find("in use") != std::string::npos;
      if (port_taken && attempt < 3) continue;
      // No destructor runs for a constructor that throws: end the workers here.
      stop();
      throw;
    }
  }
}

node_process::~node_process() {
  if (running()) stop();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- node " << options_.node << " log tail (" << log_path().string() << ") ----\n"
              << log_tail() << "\n---- end of node " << options_.node << " log ----\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string node_process::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string node_process::ws_url() const { return "ws://" + address() + "/ws"; }

pid_t node_process::pid() const { return running() ? master_->pid() : -1; }

bool node_process::running() const { return master_ && master_->running(); }

std::vector<pid_t> node_process::worker_pids() const {
  return running() ? live_children(master_->pid()) : std::vector<pid_t>{};
}

pid_t node_process::worker_serving(std::uint16_t client_port) const {
  std::string inode;
  for (const auto& socket : tcp_sockets())
    if (socket.local_port == port_ && socket.remote_port == client_port) inode = socket.inode;
  if (inode.empty()) return -1;
  for (pid_t worker : worker_pids())
    if (socket_inodes(worker).count(inode) != 0) return worker;
  return -1;
}

int node_process::subscribed_workers() const {
  const auto sockets = tcp_sockets();
  const std::string clients = redis_.command({"CLIENT", "LIST"});
  int count = 0;
  for (pid_t worker : worker_pids()) {
    const auto inodes = socket_inodes(worker);
    bool subscribed = false;
    for (const auto& socket : sockets)
      if (socket.remote_port == redis_.port() && inodes.count(socket.inode) != 0 &&
          subscriptions_of(clients, socket.local_port) > 0)
        subscribed = true;
    count += subscribed ? 1 : 0;
  }
  return count;
}

std::string node_process::log_tail(std::size_t bytes) const {
  std::string all = read_file(log_path());
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
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
                                options_.redis_url.empty() ? redis_.url() : options_.redis_url,
                                "--node",
                                options_.node,
                                "--channel-prefix",
                                options_.channel_prefix,
                                "--drain-seconds",
                                std::to_string(options_.drain_seconds)};
  argv.insert(argv.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  master_.reset();
  master_.emplace(argv, log_path(), log_path());
}

void node_process::start() {
  if (running()) throw std::logic_error("node_process::start: already running");
  launch();
  wait_ready();
}

int node_process::stop(std::chrono::milliseconds grace) {
  if (!running()) return master_ ? master_->status().value_or(0) : 0;
  const auto workers = worker_pids();
  int status = master_->stop(grace);
  // A master killed outright left its workers to drain on their own (their
  // parent-death signal is SIGTERM): end them now, so none outlives the test.
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
    for (pid_t worker : workers) ::kill(worker, SIGKILL);
  return status;
}

void node_process::signal(int sig) {
  if (running()) master_->signal(sig);
}

std::optional<int> node_process::wait_exit(std::chrono::milliseconds timeout) {
  if (!master_) return std::nullopt;
  return master_->wait_for(timeout);
}

void node_process::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    if (auto status = master_->wait_for(0ms))
      throw std::runtime_error("node " + options_.node + " " + describe_wait_status(*status) +
                               " during start-up; log:\n" + log_tail());
    auto health = http_get(port_, "/healthz", 1s);
    if (health.status != 200) {
      last = health.status == 0 ? "/healthz: " + health.error : "/healthz answered " + std::to_string(health.status);
    } else {
      try {
        int subscribed = subscribed_workers();
        if (subscribed == options_.workers) return;
        last = std::to_string(subscribed) + " of " + std::to_string(options_.workers) + " workers subscribed";
      } catch (const std::runtime_error& e) {
        last = std::string("CLIENT LIST: ") + e.what();
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("node " + options_.node + " on port " + std::to_string(port_) + " not ready within " +
                               std::to_string(timeout.count()) + " ms (last: " + last + "); log:\n" + log_tail());
    std::this_thread::sleep_for(poll_interval);
  }
}

}  // namespace switchboard::testing
