#pragma once
// A program run by a test: stdout and stderr go to files, the environment is
// stripped of the switchboard's own settings, and the process is killed and
// reaped when the object goes away, so no test leaves a process behind.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::testing {

// The processes whose parent is `parent`, zombies left out (one killed and
// not yet reaped serves nobody), sorted; read from /proc.
std::vector<pid_t> live_children(pid_t parent);

class child_process {
 public:
  // argv[0] is the program's path. Throws std::system_error if fork fails.
  child_process(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
                const std::filesystem::path& stderr_path);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process has been reaped.
  bool running() const { return pid_ > 0; }
  // The wait status once reaped (see WIFEXITED and friends).
  std::optional<int> status() const { return status_; }

  // Sends `sig` while the process runs.
  void signal(int sig);
  // Reaps the process if it exits within `timeout`; returns its wait status.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL if it is still there after `grace`; returns the wait status.
  int stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exited with status 2", "killed by SIGKILL", for messages.
std::string describe_wait_status(int status);

}  // namespace switchboard::testing
