#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <cstring>
#include <string_view>
#include <system_error>
#include <thread>

extern char** environ;

namespace switchboard::testing {

std::vector<pid_t> live_children(pid_t parent) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    pid_t candidate = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), candidate);
    if (err != std::errc{} || end != name.data() + name.size()) continue;
    // The command name may hold spaces and parentheses: parse after the last ')'.
    // Any process of the machine may exit while its stat is read: libstdc++
    // then throws from the stream's underflow (ESRCH).
    std::string text;
    try {
      std::ifstream file(entry.path() / "stat");
      text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure&) {
      continue;
    }
    auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 1));
    char state = '?';
    pid_t ppid = 0;
    if (fields >> state >> ppid && ppid == parent && state != 'Z') pids.push_back(candidate);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}
namespace {

using namespace std::chrono_literals;

constexpr auto poll_interval = 5ms;

// The server reads SWITCHBOARD_* and REDIS_URL; a developer's shell must not
// change what a test runs.
bool is_switchboard_setting(std::string_view entry) {
  return entry.starts_with("SWITCHBOARD_") || entry.starts_with("REDIS_URL=");
}

int open_output(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  return fd;
}

}  // namespace

child_process::child_process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
                             const std::filesystem::path& stderr_path) {
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls until exec.
  std::vector<std::string> args = argv;
  std::vector<char*> arg_ptrs;
  for (auto& arg : args) arg_ptrs.push_back(arg.data());
  arg_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (char** e = environ; *e != nullptr; ++e)
    if (!is_switchboard_setting(*e)) env_ptrs.push_back(*e);
  env_ptrs.push_back(nullptr);
  int out = open_output(stdout_path);
  int err = open_output(stderr_path);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    int saved = errno;
    ::close(out);
    ::close(err);
    throw std::system_error(saved, std::generic_category(), "fork");
  }
  if (pid == 0) {
    // A crashed test must not leave servers behind on a shared machine.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    // The test's sockets (clients, reserved ports) must not live on in the child.
    ::close_range(3, ~0U, 0);
    ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  pid_ = pid;
}

child_process::~child_process() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

void child_process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  if (!running()) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = status;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}

int child_process::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto status = wait_for(grace)) return *status;
  signal(SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = status;
  return status;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace switchboard::testing
