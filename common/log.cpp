#include "common/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace switchboard::log {
namespace {

std::string node_ = "-";
std::string worker_ = "master";
level threshold_ = level::info;

const char* name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "?";
}

}  // namespace

void set_context(std::string node, std::string worker) {
  node_ = std::move(node);
  worker_ = std::move(worker);
}

void set_threshold(level l) { threshold_ = l; }

void write(level l, std::string_view text) {
  if (l < threshold_) return;
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  // One fprintf per line so lines from different processes do not interleave.
  std::fprintf(stderr, "%s.%03dZ %s node=%s worker=%s %.*s\n", stamp, static_cast<int>(ms), name(l),
               node_.c_str(), worker_.c_str(), static_cast<int>(text.size()), text.data());
}

}  // namespace switchboard::log
