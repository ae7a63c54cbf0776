#include "common/protocol/disconnect.hpp"

namespace switchboard::protocol {

std::string encode_disconnect(const disconnect_order& order) {
  std::string out = "1x";
  out += order.by_user ? 'u' : 'i';
  out += order.target;
  out += '\n';
  out += std::to_string(order.code);
  out += order.reason;
  return out;
}

std::optional<disconnect_order> decode_disconnect(std::string_view bytes) {
  if (bytes.size() < 4 || !bytes.starts_with("1x") || (bytes[2] != 'u' && bytes[2] != 'i')) return std::nullopt;
  auto newline = bytes.find('\n', 3);
  if (newline == std::string_view::npos || newline == 3 || bytes.size() < newline + 5) return std::nullopt;
  disconnect_order out;
  out.by_user = bytes[2] == 'u';
  out.target = bytes.substr(3, newline - 3);
  int code = 0;
  for (char c : bytes.substr(newline + 1, 4)) {
    if (c < '0' || c > '9') return std::nullopt;
    code = code * 10 + (c - '0');
  }
  if (code < 4000 || code > 4999) return std::nullopt;
  out.code = code;
  out.reason = bytes.substr(newline + 5);
  if (out.reason.size() > max_close_reason_bytes) return std::nullopt;
  return out;
}

}  // namespace switchboard::protocol
