#include "common/protocol/client_id.hpp"

#include <random>

namespace switchboard::protocol {
namespace {

constexpr std::size_t key_length = 16;

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string make_worker_key() {
  std::random_device entropy;
  std::uint64_t value = (std::uint64_t{entropy()} << 32) ^ entropy();
  static constexpr char digits[] = "0123456789abcdef";
  std::string key(key_length, '0');
  for (std::size_t i = 0; i < key_length; ++i) {
    key[key_length - 1 - i] = digits[value & 0xf];
    value >>= 4;
  }
  return key;
}

std::string client_id_generator::next() {
  std::string id = key_;
  id += '.';
  id += std::to_string(++sequence_);
  return id;
}

std::optional<std::string_view> worker_key_of(std::string_view id) {
  if (id.size() < key_length + 2 || id[key_length] != '.') return std::nullopt;
  for (std::size_t i = 0; i < key_length; ++i)
    if (!is_lower_hex(id[i])) return std::nullopt;
  for (std::size_t i = key_length + 1; i < id.size(); ++i)
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
  return id.substr(0, key_length);
}

}  // namespace switchboard::protocol
