#include "scripts/loadtest/coordinator.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include "scripts/loadtest/load_process.hpp"

namespace switchboard::load {
namespace {

volatile sig_atomic_t interrupt_requested = 0;

void on_interrupt(int) { interrupt_requested = 1; }

// Time the processes get between go and the first scheduled send: go must
// reach all of them first.
constexpr nanos go_lead = 100 * ns_per_ms;
// Drain ends early when nothing at all arrived for this many seconds.
constexpr int quiet_seconds = 2;
// After stop, how long the processes get to send their final stats.
constexpr nanos final_grace = 30 * ns_per_s;

struct child {
  pid_t pid = -1;
  int from = -1;  // its lines
  int to = -1;    // our commands
  std::string inbox;
  bool ready = false;
  bool ended = false;     // its pipe closed
  bool finished = false;  // final stats received
  stats final_stats;
};

// The same second from every process.
struct pending_second {
  int reports = 0;
  counters total;
  histogram latency;
};

class coordinator {
 public:
  coordinator(const options& o, const plan& p, const target& t, const token_source& tokens)
      : opt_(o), plan_(p), target_(t), tokens_(tokens) {}
  outcome run();

 private:
  void fork_all();
  void handle(child& c, std::string_view line);
  void emit_complete_seconds();
  void tell_all(const std::string& line);
  void go_when_ready();
  void stop_all();
  void check_drain(const second_sample& s);
  int reporting() const;
  std::string_view phase_at(nanos t) const;

  const options& opt_;
  const plan& plan_;
  const target& target_;
  const token_source& tokens_;
  nanos epoch_ = now_ns();
  std::vector<child> children_;
  std::map<std::int64_t, pending_second> pending_;
  counters last_total_;
  outcome out_;
  std::uint64_t ready_connections_ = 0;
  nanos start_ = 0;
  nanos send_end_ = 0;
  bool stop_sent_ = false;
  nanos stop_at_ = 0;
  int quiet_ = 0;
};

void coordinator::fork_all() {
  std::fflush(nullptr);  // or the children would print our buffered output again
  for (const auto& share : plan_.shares) {
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      signal(SIGINT, SIG_IGN);  // the parent handles Ctrl-C and stops us in order
      for (const auto& other : children_) {
        close(other.from);
        close(other.to);
      }
      close(up[0]);
      close(down[1]);
      run_load_process(opt_, plan_, target_, tokens_, share.index, down[0], up[1], epoch_);
    }
    close(up[1]);
    close(down[0]);
    child c;
    c.pid = pid;
    c.from = up[0];
    c.to = down[1];
    children_.push_back(std::move(c));
  }
}

int coordinator::reporting() const {
  int n = 0;
  for (const auto& c : children_) n += !c.ended && !c.finished;
  return n;
}

void coordinator::tell_all(const std::string& line) {
  for (auto& c : children_) {
    if (c.ended) continue;
    const std::string text = line + "\n";
    // A child that has died fails this with EPIPE (SIGPIPE is ignored);
    // poll then notices its closed pipe.
    const ssize_t written = write(c.to, text.data(), text.size());
    static_cast<void>(written);
  }
}

void coordinator::stop_all() {
  if (stop_sent_) return;
  stop_sent_ = true;
  stop_at_ = now_ns();
  tell_all("stop");
}

std::string_view coordinator::phase_at(nanos t) const {
  if (start_ == 0 || t < start_) return "connect";
  if (opt_.scenario == scenario_kind::connect) return "hold";
  if (t < start_ + static_cast<nanos>(opt_.warmup * 1e9)) return "warmup";
  if (t < send_end_) return "measure";
  return "drain";
}

void coordinator::handle(child& c, std::string_view line) {
  auto space = line.find(' ');
  auto verb = line.substr(0, space);
  auto rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  if (verb == "ready") {
    c.ready = true;
    ready_connections_ += std::stoull(std::string(rest));
  } else if (verb == "tick") {
    auto sp = rest.find(' ');
    auto h = rest.find(" h=");
    if (sp == std::string_view::npos || h == std::string_view::npos) return;
    auto second = std::stoll(std::string(rest.substr(0, sp)));
    auto totals = decode_counters(rest.substr(sp + 1, h - sp - 1));
    auto latency = decode_histogram(rest.substr(h + 3));
    if (!totals || !latency) return;
    auto& row = pending_[second];
    ++row.reports;
    add(row.total, *totals);
    row.latency.merge(*latency);
  } else if (verb == "final") {
    if (auto s = decode_stats(rest)) {
      c.final_stats = std::move(*s);
      c.finished = true;
    }
  }
}

void coordinator::go_when_ready() {
  if (start_ != 0 || stop_sent_) return;
  int waiting = 0, ready = 0;
  for (const auto& c : children_) {
    if (c.ended) continue;
    ++waiting;
    ready += c.ready;
  }
  if (waiting == 0 || ready < waiting) return;
  start_ = now_ns() + go_lead;
  send_end_ = start_ + static_cast<nanos>((opt_.warmup + opt_.duration) * 1e9);
  out_.connected_at_go = ready_connections_;
  tell_all("go " + std::to_string(start_) + " " + std::to_string(ready_connections_));
}

// Seconds are printed in order once every process still running has sent
// them; a process that ends stops holding them back.
void coordinator::emit_complete_seconds() {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    const int expected = reporting();
    if (expected > 0 && it->second.reports < expected) break;
    if (expected == 0) {  // everyone has finished: what is left is partial
      pending_.clear();
      break;
    }
    second_sample s;
    s.second = it->first;
    s.phase = phase_at(epoch_ + it->first * ns_per_s);
    s.total = it->second.total;
    s.delta = s.total;
    for (const auto& f : counter_fields) s.delta.*f.member -= last_total_.*f.member;
    s.set_latency(it->second.latency);
    last_total_ = s.total;
    pending_.erase(it);
    std::fprintf(stderr, "%s\n", progress_line(s, opt_.scenario).c_str());
    out_.series.push_back(s);
    check_drain(s);
  }
}

// Once sending has ended: stop when every acknowledged message has reached
// everyone it should and every request is answered, or when nothing moved
// for quiet_seconds (what is missing is lost), or at the --drain deadline
// (checked in run()).
void coordinator::check_drain(const second_sample& s) {
  if (start_ == 0 || stop_sent_ || epoch_ + s.second * ns_per_s < send_end_) return;
  const auto& t = s.total;
  const bool complete = t.window_delivered >= t.expected && t.acked + t.rejected >= t.sent;
  const bool moved = s.delta.delivered + s.delta.acked + s.delta.rejected + s.delta.unexpected > 0;
  quiet_ = moved ? 0 : quiet_ + 1;
  if (complete || quiet_ >= quiet_seconds) stop_all();
}

outcome coordinator::run() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);  // no SA_RESTART: poll returns at once
  signal(SIGPIPE, SIG_IGN);
  fork_all();

  std::vector<pollfd> fds;
  std::vector<child*> polled;  // the child of each pollfd
  char buf[65536];
  while (true) {
    fds.clear();
    polled.clear();
    for (auto& c : children_) {
      if (c.ended) continue;
      fds.push_back({c.from, POLLIN, 0});
      polled.push_back(&c);
    }
    if (fds.empty()) break;
    poll(fds.data(), fds.size(), 50);

    if (interrupt_requested) {
      interrupt_requested = 0;
      signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills
      if (!stop_sent_) out_.interrupted = true;
      stop_all();
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      child& c = *polled[i];
      ssize_t n = read(c.from, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        c.ended = true;
        close(c.from);
        close(c.to);
        continue;
      }
      c.inbox.append(buf, static_cast<std::size_t>(n));
      std::size_t begin = 0, nl;
      while ((nl = c.inbox.find('\n', begin)) != std::string::npos) {
        handle(c, std::string_view(c.inbox).substr(begin, nl - begin));
        begin = nl + 1;
      }
      c.inbox.erase(0, begin);
    }
    go_when_ready();
    emit_complete_seconds();

    const nanos now = now_ns();
    if (start_ != 0 && !stop_sent_) {
      // connect holds for --duration and has nothing to drain.
      if (opt_.scenario == scenario_kind::connect && now >= send_end_) stop_all();
      if (now >= send_end_ + static_cast<nanos>(opt_.drain * 1e9)) stop_all();
    }
    if (stop_sent_ && now >= stop_at_ + final_grace) {
      for (auto& c : children_) {
        if (!c.ended) kill(c.pid, SIGKILL);  // our own child, stuck
      }
    }
  }

  if (start_ != 0) {
    // An interrupt cuts the window short; rates are over what was measured.
    const nanos window_begin = start_ + static_cast<nanos>(opt_.warmup * 1e9);
    const nanos window = std::clamp<nanos>((out_.interrupted ? stop_at_ : send_end_) - window_begin, 0,
                                           send_end_ - window_begin);
    out_.measured_seconds = static_cast<double>(window) / 1e9;
  }
  for (auto& c : children_) {
    int status = 0;
    waitpid(c.pid, &status, 0);
    if (c.finished) {
      out_.total.merge(c.final_stats);
      continue;
    }
    ++out_.failed_processes;
    if (WIFSIGNALED(status)) {
      std::fprintf(stderr, "switchboard-load: load process %d was killed by signal %d (%s)\n", c.pid,
                   WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
      std::fprintf(stderr, "switchboard-load: load process %d exited with status %d without results\n", c.pid,
                   WEXITSTATUS(status));
    }
  }
  return std::move(out_);
}

}  // namespace

outcome coordinate(const options& o, const plan& p, const target& t, const token_source& tokens) {
  return coordinator(o, p, t, tokens).run();
}

}  // namespace switchboard::load
