#include "scripts/loadtest/progress.hpp"

#include <cstdio>

namespace switchboard::load {

void second_sample::set_latency(const histogram& h) {
  samples = h.count();
  p50 = h.percentile(50);
  p90 = h.percentile(90);
  p99 = h.percentile(99);
  p999 = h.percentile(99.9);
  max = h.max();
}

std::string format_duration(std::int64_t ns) {
  char buf[32];
  if (ns < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.0fus", static_cast<double>(ns) / 1e3);
  } else if (ns < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.2fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ns) / 1e9);
  }
  return buf;
}

std::string progress_line(const second_sample& s, scenario_kind scenario) {
  char buf[320];
  const auto& t = s.total;
  const auto& d = s.delta;
  const auto open = t.opened - t.lost;
  const std::string p99 = s.samples ? format_duration(s.p99) : "-";
  const int phase_width = 7;
  if (s.phase == "connect" || scenario == scenario_kind::connect) {
    std::snprintf(buf, sizeof buf,
                  "[%4llds %-*.*s] conns %llu | handshakes %llu/s | failed %llu | lost %llu | handshake p99 %s",
                  static_cast<long long>(s.second), phase_width, static_cast<int>(s.phase.size()), s.phase.data(),
                  static_cast<unsigned long long>(open), static_cast<unsigned long long>(d.opened),
                  static_cast<unsigned long long>(t.connect_failed), static_cast<unsigned long long>(t.lost),
                  p99.c_str());
  } else if (scenario == scenario_kind::churn) {
    std::snprintf(buf, sizeof buf, "[%4llds %-*.*s] cycles %llu/s | failed %llu | errors %llu | cycle p99 %s",
                  static_cast<long long>(s.second), phase_width, static_cast<int>(s.phase.size()), s.phase.data(),
                  static_cast<unsigned long long>(d.acked), static_cast<unsigned long long>(d.connect_failed),
                  static_cast<unsigned long long>(d.errors), p99.c_str());
  } else {
    std::snprintf(buf, sizeof buf,
                  "[%4llds %-*.*s] conns %llu | sent %llu/s acked %llu/s | delivered %llu/s | p99 %s | errors %llu",
                  static_cast<long long>(s.second), phase_width, static_cast<int>(s.phase.size()), s.phase.data(),
                  static_cast<unsigned long long>(open), static_cast<unsigned long long>(d.sent),
                  static_cast<unsigned long long>(d.acked), static_cast<unsigned long long>(d.delivered), p99.c_str(),
                  static_cast<unsigned long long>(d.errors));
  }
  return buf;
}

}  // namespace switchboard::load
