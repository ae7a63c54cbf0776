// libFuzzer target: bytes from Redis through the bus envelope decoder. A
// decoded envelope must encode back to the very same bytes: the receiving
// worker routes on the header, so two readings of one message must not exist.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/protocol/envelope.hpp"

using namespace switchboard::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_envelope(bytes);
  if (!decoded) return 0;
  if (decoded->target.find('\n') != std::string_view::npos) std::abort();
  if (encode_envelope(decoded->kind, decoded->target, decoded->frame, decoded->offset) != bytes) std::abort();
  return 0;
}
