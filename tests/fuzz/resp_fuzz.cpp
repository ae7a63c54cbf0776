// libFuzzer target: bytes from a Redis server through the RESP reader, fed
// in two pieces split where the first byte says (as a socket may deliver
// them). Malformed input must end in an error, never a crash or a hang.

#include <cstdint>
#include <string_view>

#include "common/redis/reply.hpp"

using namespace switchboard;

namespace {

// Walks a reply as the server does: strings read as text, arrays recursed.
void visit(const redisReply& reply, int depth) {
  if (depth > 64) return;
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS || reply.type == REDIS_REPLY_ERROR)
    (void)redis::text_of(reply).size();
  if (reply.type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i < reply.elements; ++i) visit(*reply.element[i], depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t split = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  size -= 1;
  split = split > size ? size : split;
  redis::reply_reader reader;
  for (auto [from, length] : {std::pair{bytes, split}, std::pair{bytes + split, size - split}}) {
    reader.feed(from, length);
    for (;;) {
      error_code ec;
      auto reply = reader.next(ec);
      if (ec) return 0;  // the connection would be closed here
      if (!reply) break;
      visit(*reply, 0);
    }
  }
  return 0;
}
