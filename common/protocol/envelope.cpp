#include "common/protocol/envelope.hpp"

namespace switchboard::protocol {
namespace {

constexpr char version = '1';

char letter(scope kind) {
  switch (kind) {
    case scope::broadcast: return 'b';
    case scope::direct: return 'd';
    case scope::room: return 'r';
    case scope::user: return 'u';
    case scope::member: return 'm';
  }
  return '?';
}

}  // namespace

std::string encode_envelope(scope kind, std::string_view target, std::string_view frame, std::uint64_t offset) {
  std::string out;
  out.reserve(24 + target.size() + frame.size());
  out += version;
  if (offset != 0) {
    out += kind == scope::user ? 'U' : 'R';
    out += std::to_string(offset);
    out += ' ';
  } else {
    out += letter(kind);
  }
  if (kind != scope::broadcast) out += target;
  out += '\n';
  out += frame;
  return out;
}

std::optional<envelope_view> decode_envelope(std::string_view bytes) {
  if (bytes.size() < 3 || bytes[0] != version) return std::nullopt;
  auto newline = bytes.find('\n', 2);
  if (newline == std::string_view::npos) return std::nullopt;
  envelope_view out;
  switch (bytes[1]) {
    case 'b': out.kind = scope::broadcast; break;
    case 'd': out.kind = scope::direct; break;
    case 'r': out.kind = scope::room; break;
    case 'u': out.kind = scope::user; break;
    case 'm': out.kind = scope::member; break;
    case 'R': out.kind = scope::room; break;
    case 'U': out.kind = scope::user; break;
    default: return std::nullopt;
  }
  out.target = bytes.substr(2, newline - 2);
  if (bytes[1] == 'R' || bytes[1] == 'U') {
    auto space = out.target.find(' ');
    // Decimal without leading zeros: one spelling per offset.
    if (space == std::string_view::npos || space == 0 || space > 19 || out.target[0] == '0') return std::nullopt;
    std::uint64_t offset = 0;
    for (char c : out.target.substr(0, space)) {
      if (c < '0' || c > '9') return std::nullopt;
      offset = offset * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out.offset = offset;
    out.target = out.target.substr(space + 1);
    if (out.target.empty()) return std::nullopt;
  }
  if ((out.kind == scope::broadcast) != out.target.empty()) return std::nullopt;
  out.frame = bytes.substr(newline + 1);
  if (out.frame.empty()) return std::nullopt;
  return out;
}

}  // namespace switchboard::protocol
