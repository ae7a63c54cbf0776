#include "tests/support/redis_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace switchboard::testing {
namespace {

using namespace std::chrono_literals;

// Redis starts in tens of milliseconds; 10 s only matters on a loaded machine.
constexpr auto start_timeout = 10s;
// A server that ignores SIGTERM this long is killed outright.
constexpr auto stop_timeout = 5s;
constexpr auto poll_interval = 10ms;

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

// The server died during start-up, typically because another process took
// the reserved port first; unlike a hang, worth another try on a new port.
class exited_early : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

std::string reply_text(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: return std::string(r.str, r.len);
    case REDIS_REPLY_ERROR: return "(error) " + std::string(r.str, r.len);
    case REDIS_REPLY_INTEGER: return std::to_string(r.integer);
    case REDIS_REPLY_NIL: return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (std::size_t i = 0; i < r.elements; ++i) {
        if (i != 0) out += ", ";
        out += reply_text(*r.element[i]);
      }
      return out + "]";
    }
  }
  return "(unknown reply type " + std::to_string(r.type) + ")";
}

// The last lines of the server's log, for error messages.
std::string log_tail(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  constexpr std::size_t keep = 2000;
  return all.size() > keep ? all.substr(all.size() - keep) : all;
}

}  // namespace

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

std::uint16_t free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    throw_errno("reserving a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::optional<std::string> redis_process::find_server(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

redis_process::redis_process(redis_options options) : options_(std::move(options)) {
  const std::string program = options_.sentinel_config.empty() ? "redis-server" : "redis-sentinel";
  auto server = find_server(program);
  if (!server) throw std::runtime_error(program + " is not on PATH");
  server_ = *server;
  std::string pattern = ::testing::TempDir() + "switchboard-redis-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  dir_ = pattern;
  if (options_.unix_socket) unix_path_ = (dir_ / "redis.sock").string();
  // Another process may take the reserved port before the server binds it:
  // then the server exits at once, and a fresh port is worth a second try.
  for (int attempt = 1;; ++attempt) {
    port_ = free_tcp_port();
    try {
      start();
      return;
    } catch (const exited_early&) {
      if (attempt == 3) throw;
    }
  }
}

redis_process::~redis_process() {
  stop();
  if (::testing::Test::HasFailure()) {
    std::cerr << "redis-server log kept: " << log_path().string() << '\n';
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string redis_process::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> redis_process::arguments() const {
  if (!options_.sentinel_config.empty()) {
    // Written once: after that the file is Sentinel's, rewritten with what
    // it has learnt (replicas, other sentinels, the current primary).
    auto conf = dir_ / "sentinel.conf";
    if (!std::filesystem::exists(conf)) {
      std::ofstream out(conf);
      out << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_.string() << "\n";
      for (const auto& line : options_.sentinel_config) out << line << '\n';
      if (!out) throw std::runtime_error("cannot write " + conf.string());
    }
    return {server_, conf.string()};
  }
  std::vector<std::string> args{server_,  "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                "--dir",   dir_.string()};
  if (options_.append_only) args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  else args.insert(args.end(), {"--appendonly", "no"});
  if (options_.unix_socket) {
    args.insert(args.end(), {"--unixsocket", unix_path_, "--unixsocketperm", "700"});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

void redis_process::start() {
  if (running()) throw std::logic_error("redis_process::start: already running");
  std::vector<std::string> args = arguments();
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls until exec.
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int log = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) throw_errno("open " + log_path().string());
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    throw_errno("fork");
  }
  if (pid == 0) {
    // A crashed test must not leave servers behind on a shared machine.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    // Sockets of the test must not live on in the server.
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  pid_ = pid;
  try {
    wait_until_ready();
  } catch (...) {
    stop();
    throw;
  }
}

void redis_process::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw exited_early("redis-server exited during start-up (log " + log_path().string() + "):\n" +
                         log_tail(log_path()));
    }
    try {
      if (command({"PING"}) == "PONG") return;
    } catch (const std::runtime_error&) {
      // Not listening yet.
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("redis-server on port " + std::to_string(port_) + " did not answer PING within " +
                               std::to_string(start_timeout.count()) + " s (log " + log_path().string() + "):\n" +
                               log_tail(log_path()));
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

void redis_process::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  // A paused server would keep SIGTERM pending forever.
  ::kill(pid_, SIGCONT);
  const auto deadline = std::chrono::steady_clock::now() + stop_timeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  pid_ = -1;
}

void redis_process::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void redis_process::pause() {
  if (running()) ::kill(pid_, SIGSTOP);
}

void redis_process::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

std::string redis_process::command(const std::vector<std::string>& args) const {
  context_ptr ctx(redisConnectWithTimeout("127.0.0.1", port_, to_timeval(1000ms)));
  if (!ctx) throw std::runtime_error("redis_process::command: out of memory");
  if (ctx->err) throw std::runtime_error("redis_process::command: connect: " + std::string(ctx->errstr));
  redisSetTimeout(ctx.get(), to_timeval(2000ms));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  reply_ptr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx.get(), static_cast<int>(args.size()), argv.data(), lengths.data())));
  if (!reply) throw std::runtime_error("redis_process::command: " + std::string(ctx->errstr));
  return reply_text(*reply);
}

}  // namespace switchboard::testing
