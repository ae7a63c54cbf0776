#include "scripts/loadtest/frame_scan.hpp"

#include <string.h>

#include <charconv>

namespace switchboard::load {
namespace {

// Where `key` ends in `frame`, or npos.
std::size_t after(std::string_view frame, std::string_view key) {
  const void* hit = memmem(frame.data(), frame.size(), key.data(), key.size());
  if (hit == nullptr) return std::string_view::npos;
  return static_cast<std::size_t>(static_cast<const char*>(hit) - frame.data()) + key.size();
}

}  // namespace

frame_kind classify(std::string_view frame) {
  auto at = after(frame, "\"type\":\"");
  if (at == std::string_view::npos) return frame_kind::other;
  auto rest = frame.substr(at);
  // Deliveries first: they are nearly every frame.
  if (rest.starts_with("message\"")) return frame_kind::message;
  if (rest.starts_with("ack\"")) return frame_kind::ack;
  if (rest.starts_with("error\"")) return frame_kind::error;
  if (rest.starts_with("pong\"")) return frame_kind::pong;
  if (rest.starts_with("welcome\"")) return frame_kind::welcome;
  if (rest.starts_with("presence\"")) return frame_kind::presence;
  return frame_kind::other;
}

std::optional<std::int64_t> scan_int(std::string_view frame, std::string_view key) {
  auto at = after(frame, key);
  if (at == std::string_view::npos) return std::nullopt;
  while (at < frame.size() && frame[at] == ' ') ++at;  // other servers may space their JSON
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(frame.data() + at, frame.data() + frame.size(), value);
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

std::optional<std::string_view> scan_string(std::string_view frame, std::string_view key) {
  auto at = after(frame, key);
  if (at == std::string_view::npos) return std::nullopt;
  auto end = frame.find('"', at);
  if (end == std::string_view::npos) return std::nullopt;
  return frame.substr(at, end - at);
}

std::optional<stamp> scan_stamp(std::string_view frame) {
  // Our keys live in `data`; starting there skips the envelope.
  auto at = after(frame, "\"data\":");
  if (at == std::string_view::npos) return std::nullopt;
  auto data = frame.substr(at);
  auto t = scan_int(data, "\"t\":");
  auto p = scan_int(data, "\"p\":");
  auto s = scan_int(data, "\"s\":");
  if (!t || !p || !s) return std::nullopt;
  return stamp{*t, *p, *s, scan_int(data, "\"r\":").value_or(-1)};
}

}  // namespace switchboard::load
