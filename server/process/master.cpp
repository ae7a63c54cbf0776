#include "server/process/master.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>

#include "common/log.hpp"
#include "server/process/worker.hpp"

namespace switchboard {
namespace {

using clock = std::chrono::steady_clock;

// A worker that lived this long was healthy: its next crash restarts at once.
constexpr std::chrono::seconds healthy_uptime{10};
constexpr std::chrono::milliseconds backoff_min{100};
constexpr std::chrono::milliseconds backoff_max{10000};
// Added to the drain time before stragglers are killed.
constexpr std::chrono::seconds kill_margin{3};
// A reload does not wait longer than this for a new worker to report ready
// (Redis may be down): the old one is retired anyway, the new one accepts.
constexpr std::chrono::seconds ready_timeout{15};

struct slot {
  pid_t pid = 0;
  bool ready = false;  // the worker reported it serves (SIGUSR1)
  clock::time_point started{};
  clock::time_point restart_at{};
  int quick_failures = 0;
};

// One step of a rolling restart: slot `index` has a new worker, and `old`
// is retired once the new one is ready.
struct reload_step {
  std::size_t index = 0;
  pid_t old = 0;
  clock::time_point started{};
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

std::chrono::milliseconds backoff_for(int failures) {
  auto delay = backoff_min * (1 << std::min(failures, 16));
  return std::min<std::chrono::milliseconds>(delay, backoff_max);
}

class master {
 public:
  master(const config& cfg, std::vector<listen_socket> sockets, metrics::region& counters)
      : cfg_(cfg), sockets_(std::move(sockets)), slots_(sockets_.size()), counters_(counters) {}

  int run();

 private:
  void spawn(std::size_t index);
  void reap();
  void begin_shutdown(int signal);
  void begin_reload();
  void advance_reload();
  void mark_ready(pid_t pid);
  bool any_alive() const;
  timespec wait_budget() const;

  const config& cfg_;
  std::vector<listen_socket> sockets_;
  std::vector<slot> slots_;
  metrics::region& counters_;
  std::vector<pid_t> retiring_;           // old workers draining after a reload
  std::deque<std::size_t> reload_queue_;  // slots still to replace
  std::optional<reload_step> step_;
  bool reload_again_ = false;             // SIGHUP during a reload
  sigset_t handled_{};
  sigset_t original_{};
  bool stopping_ = false;
  bool killed_ = false;
  clock::time_point kill_at_{};
};

int master::run() {
  // Signals are blocked and taken synchronously with sigtimedwait: no
  // handlers, no races between a signal and the decision it triggers.
  sigemptyset(&handled_);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&handled_, s);
  sigprocmask(SIG_BLOCK, &handled_, &original_);

  log::info("node " + cfg_.node + " listening on " + cfg_.bind + ":" + std::to_string(cfg_.port) + " with " +
            std::to_string(slots_.size()) + " workers, redis " + describe_redis(cfg_));
  if (cfg_.api_port != 0) log::info("backend API on " + cfg_.api_bind + ":" + std::to_string(cfg_.api_port));
  for (std::size_t i = 0; i < slots_.size(); ++i) spawn(i);

  for (;;) {
    timespec budget = wait_budget();
    siginfo_t info{};
    int sig = sigtimedwait(&handled_, &info, &budget);
    if (sig == SIGCHLD) reap();
    if (sig == SIGTERM || sig == SIGINT) begin_shutdown(sig);
    if (sig == SIGHUP && !stopping_) begin_reload();
    if (sig == SIGUSR1) mark_ready(info.si_pid);

    if (stopping_) {
      reap();
      if (!any_alive()) break;
      if (!killed_ && clock::now() >= kill_at_) {
        log::warn("workers still running at the deadline; killing them");
        for (auto& s : slots_)
          if (s.pid > 0) ::kill(s.pid, SIGKILL);
        for (pid_t pid : retiring_) ::kill(pid, SIGKILL);
        killed_ = true;
      }
      continue;
    }
    auto now = clock::now();
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].pid == 0 && slots_[i].restart_at <= now) spawn(i);
    advance_reload();
  }
  close_listen_sockets(sockets_);
  log::info("node stopped");
  return 0;
}

void master::spawn(std::size_t index) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    log::error(std::string("fork: ") + std::strerror(errno));
    slots_[index].restart_at = clock::now() + backoff_max;
    return;
  }
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &original_, nullptr);
    // A worker must not outlive its master (a SIGKILLed master, a test harness).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(0);
    for (std::size_t i = 0; i < sockets_.size(); ++i)
      if (i != index) close_listen_socket(sockets_[i]);
    log::set_context(cfg_.node, std::to_string(index));
    try {
      run_worker(cfg_, static_cast<int>(index), sockets_[index], counters_);
    } catch (const std::exception& e) {
      log::error(std::string("worker failed: ") + e.what());
    }
    std::fflush(stderr);
    ::_exit(1);
  }
  auto& s = slots_[index];
  if (s.started != clock::time_point{}) metrics::add(counters_.slot(index).restarts);
  s.pid = pid;
  s.ready = false;
  s.started = clock::now();
}

void master::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (auto old = std::find(retiring_.begin(), retiring_.end(), pid); old != retiring_.end()) {
      retiring_.erase(old);
      log::info("retired worker " + std::to_string(pid) + " " + describe_status(status));
      continue;
    }
    auto it = std::find_if(slots_.begin(), slots_.end(), [pid](const slot& s) { return s.pid == pid; });
    if (it == slots_.end()) continue;
    auto index = static_cast<std::size_t>(it - slots_.begin());
    it->pid = 0;
    it->ready = false;
    if (stopping_) {
      log::info("worker " + std::to_string(index) + " " + describe_status(status));
      continue;
    }
    // Its connections died with it. During a reload a retiring worker may
    // still count in the slot, and zeroing would take its share too.
    if (retiring_.empty()) metrics::reset_gauges(counters_.slot(index));
    auto now = clock::now();
    if (now - it->started >= healthy_uptime) it->quick_failures = 0;
    auto delay = it->quick_failures == 0 ? std::chrono::milliseconds(0) : backoff_for(it->quick_failures - 1);
    ++it->quick_failures;
    it->restart_at = now + delay;
    log::warn("worker " + std::to_string(index) + " " + describe_status(status) + "; restarting in " +
              std::to_string(delay.count()) + " ms");
  }
}

void master::begin_shutdown(int signal) {
  if (stopping_) return;
  stopping_ = true;
  reload_queue_.clear();
  step_.reset();
  kill_at_ = clock::now() + cfg_.drain_notice + cfg_.drain_timeout + kill_margin;
  log::info(std::string("received ") + strsignal(signal) + "; draining workers");
  for (auto& s : slots_)
    if (s.pid > 0) ::kill(s.pid, SIGTERM);
  // Retiring workers: the one a reload step had not retired yet is still
  // serving and must drain too; those draining already ignore a second
  // signal and keep their own deadline.
  for (pid_t pid : retiring_) ::kill(pid, SIGTERM);
  // Our copies of the listening sockets go now: once the workers close
  // theirs, new connections are refused at once (a load balancer fails over)
  // instead of waiting in a queue nobody will serve.
  close_listen_sockets(sockets_);
}

void master::begin_reload() {
  if (step_ || !reload_queue_.empty()) {
    reload_again_ = true;
    log::info("SIGHUP during a rolling restart: another one follows it");
    return;
  }
  log::info("SIGHUP: rolling restart of " + std::to_string(slots_.size()) + " workers");
  for (std::size_t i = 0; i < slots_.size(); ++i) reload_queue_.push_back(i);
}

// One slot at a time: start the new worker beside the old one (both accept
// on the slot's socket), and retire the old one only once the new one
// serves, so the node never stops accepting.
void master::advance_reload() {
  auto now = clock::now();
  if (step_) {
    const auto& fresh = slots_[step_->index];
    bool fresh_ready = fresh.pid > 0 && fresh.ready;
    bool waited_enough = now - step_->started >= ready_timeout;
    // A new worker that died is restarted by the crash path; retire the old
    // one only when the slot is served again.
    if (!fresh_ready && !(waited_enough && fresh.pid > 0)) return;
    if (!fresh_ready) log::warn("worker " + std::to_string(step_->index) + " not ready in time; retiring the old one anyway");
    // Unless it died meanwhile (then its pid may already be someone else's).
    if (std::find(retiring_.begin(), retiring_.end(), step_->old) != retiring_.end()) ::kill(step_->old, SIGUSR2);
    step_.reset();
  }
  while (!step_ && !reload_queue_.empty()) {
    std::size_t index = reload_queue_.front();
    reload_queue_.pop_front();
    pid_t old = slots_[index].pid;
    if (old == 0) continue;  // dead and being restarted: it comes back new anyway
    retiring_.push_back(old);
    spawn(index);
    step_ = reload_step{index, old, now};
  }
  if (!step_ && reload_queue_.empty() && reload_again_) {
    reload_again_ = false;
    begin_reload();
  }
}

void master::mark_ready(pid_t pid) {
  for (auto& s : slots_)
    if (s.pid == pid) s.ready = true;
}

bool master::any_alive() const {
  return !retiring_.empty() || std::any_of(slots_.begin(), slots_.end(), [](const slot& s) { return s.pid > 0; });
}

timespec master::wait_budget() const {
  auto now = clock::now();
  auto wake = now + std::chrono::seconds(1);
  if (stopping_) wake = std::min(wake, kill_at_);
  for (const auto& s : slots_)
    if (!stopping_ && s.pid == 0) wake = std::min(wake, s.restart_at);
  if (step_) wake = std::min(wake, step_->started + ready_timeout);
  auto wait = std::max(std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now), std::chrono::nanoseconds(1000000));
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(wait.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(wait.count() % 1'000'000'000);
  return ts;
}

}  // namespace

int run_master(const config& cfg, std::vector<listen_socket> sockets, metrics::region& counters) {
  return master(cfg, std::move(sockets), counters).run();
}

}  // namespace switchboard
