#include "server/net/inbound_frames.hpp"

#include <algorithm>

namespace switchboard {
namespace {

constexpr unsigned char fin_bit = 0x80;
constexpr unsigned char mask_bit = 0x80;
constexpr unsigned char opcode_bits = 0x0f;
// Opcodes from 8 on are control frames (close, ping, pong).
constexpr unsigned char first_control_opcode = 0x8;
constexpr unsigned char pong_opcode = 0xa;
constexpr std::size_t mask_bytes = 4;
constexpr std::size_t max_control_payload = 125;

}  // namespace

void inbound_frames::feed(const char* data, std::size_t n) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  while (n > 0) {
    if (payload_left_ > 0) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, n));
      payload_left_ -= take;
      bytes += take;
      n -= take;
      if (payload_left_ == 0) frame_done();
      continue;
    }
    at_message_end_ = false;
    header_[header_have_++] = *bytes++;
    --n;
    if (header_have_ == header_size()) start_payload();
  }
}

std::size_t inbound_frames::header_size() const noexcept {
  if (header_have_ < 2) return 0;
  const unsigned char length = header_[1] & 0x7f;
  std::size_t size = 2 + ((header_[1] & mask_bit) ? mask_bytes : 0);
  if (length == 126) size += 2;
  if (length == 127) size += 8;
  return size;
}

void inbound_frames::start_payload() {
  const unsigned char length = header_[1] & 0x7f;
  std::uint64_t size = length;
  if (length >= 126) {
    const std::size_t bytes = length == 126 ? 2 : 8;
    size = 0;
    for (std::size_t i = 0; i < bytes; ++i) size = (size << 8) | header_[2 + i];
  }
  final_data_ = (header_[0] & fin_bit) && (header_[0] & opcode_bits) < first_control_opcode;
  header_have_ = 0;
  payload_left_ = size;
  if (payload_left_ == 0) frame_done();
}

void inbound_frames::frame_done() {
  if (final_data_) ++messages_;
  at_message_end_ = final_data_;
}

std::size_t inbound_frames::whole_pong(const unsigned char* bytes, std::size_t n) noexcept {
  if (n < 2 || bytes[0] != (fin_bit | pong_opcode) || !(bytes[1] & mask_bit)) return 0;
  const std::size_t payload = bytes[1] & 0x7f;
  if (payload > max_control_payload) return 0;
  const std::size_t size = 2 + mask_bytes + payload;
  return n >= size ? size : 0;
}

}  // namespace switchboard
