#include "common/protocol/frames.hpp"

#include <nlohmann/json.hpp>

namespace switchboard::protocol {

std::string json_quote(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

void append_ref(std::string& out, const std::optional<std::string>& ref) {
  if (!ref) return;
  out += ",\"ref\":";
  out += *ref;
}

}  // namespace

std::string welcome_frame(std::string_view id, std::string_view node, int worker, std::string_view user) {
  std::string out = "{\"type\":\"welcome\",\"id\":";
  out += json_quote(id);
  out += ",\"node\":";
  out += json_quote(node);
  out += ",\"worker\":";
  out += std::to_string(worker);
  if (!user.empty()) {
    out += ",\"user\":";
    out += json_quote(user);
  }
  out += '}';
  return out;
}

std::string ack_frame(std::string_view ref) {
  std::string out = "{\"type\":\"ack\",\"ref\":";
  out += ref;
  out += '}';
  return out;
}

std::string pong_frame(const std::optional<std::string>& ref) {
  std::string out = "{\"type\":\"pong\"";
  append_ref(out, ref);
  out += '}';
  return out;
}

std::string error_frame(error_kind kind, std::string_view message, const std::optional<std::string>& ref) {
  std::string out = "{\"type\":\"error\",\"code\":\"";
  out += to_string(kind);
  out += "\",\"message\":";
  out += json_quote(message);
  append_ref(out, ref);
  out += '}';
  return out;
}

namespace {

void append_list(std::string& out, std::string_view name, const std::vector<std::string>& items) {
  out += ",\"";
  out += name;
  out += "\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += json_quote(items[i]);
  }
  out += ']';
}

}  // namespace

std::string presence_frame(std::string_view room, const std::vector<std::string>& members,
                           const std::optional<std::string>& ref, const std::optional<std::vector<std::string>>& users) {
  std::string out = "{\"type\":\"presence\",\"room\":";
  out += json_quote(room);
  append_list(out, "members", members);
  if (users) append_list(out, "users", *users);
  append_ref(out, ref);
  out += '}';
  return out;
}

std::string member_frame(bool joined, std::string_view room, std::string_view id, std::string_view user) {
  std::string out = joined ? "{\"type\":\"member\",\"event\":\"joined\",\"room\":"
                           : "{\"type\":\"member\",\"event\":\"left\",\"room\":";
  out += json_quote(room);
  out += ",\"id\":";
  out += json_quote(id);
  if (!user.empty()) {
    out += ",\"user\":";
    out += json_quote(user);
  }
  out += '}';
  return out;
}

std::string left_frame(std::string_view room, std::string_view reason) {
  std::string out = "{\"type\":\"left\",\"room\":";
  out += json_quote(room);
  out += ",\"reason\":";
  out += json_quote(reason);
  out += '}';
  return out;
}

std::string message_frame(scope s, std::string_view from, std::string_view target, std::string_view data,
                          std::string_view from_user) {
  std::string out = message_frame_head(s, from, target, data, from_user);
  out += '}';
  return out;
}

std::string message_frame_head(scope s, std::string_view from, std::string_view target, std::string_view data,
                               std::string_view from_user) {
  std::string out;
  out.reserve(80 + from.size() + from_user.size() + target.size() + data.size());
  out += "{\"type\":\"message\",\"scope\":\"";
  out += to_string(s);
  out += "\",\"from\":";
  out += json_quote(from);
  if (!from_user.empty()) {
    out += ",\"from_user\":";
    out += json_quote(from_user);
  }
  if (s == scope::direct) {
    out += ",\"to\":";
    out += json_quote(target);
  } else if (s == scope::room) {
    out += ",\"room\":";
    out += json_quote(target);
  } else if (s == scope::user) {
    out += ",\"user\":";
    out += json_quote(target);
  }
  out += ",\"data\":";
  out += data;
  return out;
}

namespace {

void append_position(std::string& out, const stream_position& at) {
  out += ",\"offset\":";
  out += std::to_string(at.offset);
  out += ",\"epoch\":";
  out += json_quote(at.epoch);
}

}  // namespace

std::string join_ack_frame(const std::optional<std::string>& ref, const stream_position& now, bool recovered) {
  std::string out = "{\"type\":\"ack\"";
  append_ref(out, ref);
  append_position(out, now);
  out += recovered ? ",\"recovered\":true}" : ",\"recovered\":false}";
  return out;
}

std::string history_frame(std::string_view room, const std::vector<std::string>& messages,
                          const stream_position& now, const std::optional<std::string>& ref) {
  std::size_t size = 64 + room.size();
  for (const auto& m : messages) size += m.size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"type\":\"history\",\"room\":";
  out += json_quote(room);
  out += ",\"messages\":[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i != 0) out += ',';
    out += messages[i];
  }
  out += ']';
  append_position(out, now);
  append_ref(out, ref);
  out += '}';
  return out;
}

}  // namespace switchboard::protocol
