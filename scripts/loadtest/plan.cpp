#include "scripts/loadtest/plan.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "scripts/loadtest/clock.hpp"

namespace switchboard::load {
namespace {

// Files a process needs besides its connections: pipes, epoll, the
// resolver's, sockets still closing.
constexpr std::size_t reserved_files = 1000;

// The i-th of k near-equal parts of n.
std::size_t part(std::size_t n, int k, int i) {
  auto uk = static_cast<std::size_t>(k), ui = static_cast<std::size_t>(i);
  return n / uk + (ui < n % uk ? 1 : 0);
}
std::size_t part_base(std::size_t n, int k, int i) {
  std::size_t base = 0;
  for (int j = 0; j < i; ++j) base += part(n, k, j);
  return base;
}

std::size_t raise_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur == RLIM_INFINITY ? 1'000'000 : static_cast<std::size_t>(lim.rlim_cur);
}

// Ephemeral ports one source address has for one server address and port.
std::size_t local_ports() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  std::size_t low = 0, high = 0;
  if (range >> low >> high && high > low) return high - low + 1;
  return 28232;  // the Linux default range 32768-60999
}

}  // namespace

plan make_plan(const options& o) {
  plan p;
  const int k = o.procs;
  char tag[32];
  std::snprintf(tag, sizeof tag, "%x%llx", static_cast<unsigned>(getpid()),
                static_cast<unsigned long long>(now_ns() % 0xffffff));
  p.run_tag = tag;
  switch (o.scenario) {
    case scenario_kind::fanout: p.total_senders = o.publishers; break;
    case scenario_kind::direct: p.total_senders = o.clients / 2; break;
    case scenario_kind::rooms: p.total_senders = o.publishers; break;
    case scenario_kind::connect: p.total_senders = 0; break;
    case scenario_kind::churn: p.total_senders = o.clients; break;
  }
  for (int i = 0; i < k; ++i) {
    share s;
    s.index = i;
    s.senders = part(p.total_senders, k, i);
    s.sender_base = part_base(p.total_senders, k, i);
    switch (o.scenario) {
      case scenario_kind::fanout:
      case scenario_kind::connect:
      case scenario_kind::churn: s.connections = part(o.clients, k, i); break;
      case scenario_kind::direct: s.connections = 2 * s.senders; break;
      case scenario_kind::rooms:
        s.rooms = part(o.rooms, k, i);
        s.room_base = part_base(o.rooms, k, i);
        s.connections = s.rooms * o.room_size + s.senders;
        break;
    }
    p.total_connections += s.connections;
    p.shares.push_back(s);
  }

  const std::size_t files = raise_file_limit();
  const std::size_t per_process = files > 2 * reserved_files ? files - reserved_files : files / 2;
  const std::size_t biggest = p.shares.front().connections;  // part() gives the first share the most
  if (biggest > per_process) {
    std::size_t needed = (p.total_connections + per_process - 1) / per_process;
    throw plan_error(std::to_string(p.total_connections) + " connections over " + std::to_string(k) +
                     " process(es) is " + std::to_string(biggest) + " sockets in one process, but a process may open at most " +
                     std::to_string(per_process) + " here (open-file limit " + std::to_string(files) +
                     ", which cannot be raised): use --procs " + std::to_string(needed) + " or more");
  }
  // Churn holds one socket per loop at a time, and the server closes first
  // (so TIME_WAIT lands there); only held connections need distinct ports.
  if (o.scenario != scenario_kind::churn) {
    const std::size_t ports = local_ports();
    const auto addrs = static_cast<std::size_t>(o.source_addrs);
    if (p.total_connections > ports * addrs) {
      std::size_t needed = (p.total_connections + ports - 1) / ports;
      throw plan_error(std::to_string(p.total_connections) + " connections to one server port need more than the " +
                       std::to_string(ports) + " local ports of " + std::to_string(addrs) +
                       " source address(es): use --source-addrs " + std::to_string(needed) + " or more");
    }
  }
  return p;
}

}  // namespace switchboard::load
