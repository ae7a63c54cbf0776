#pragma once
// hiredis owns the RESP codec: replies are its redisReply trees, read by its
// redisReader and freed with freeReplyObject.

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"

namespace switchboard::redis {

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

// The string of a status, error or bulk reply.
inline std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

// The elements of an array reply (SMEMBERS, SUNION) as strings; nullopt when
// `r` is null or not an array.
std::optional<std::vector<std::string>> strings_of(const redisReply* r);

// The value of `name` in an INFO reply's "name:value" lines; empty when
// the reply has no such line.
std::string info_field(std::string_view info, std::string_view name);

// Appends one command in RESP to `out` (hiredis's formatter).
void append_command(std::string& out, std::span<const std::string_view> args);

// Incremental RESP parser: feed bytes as they arrive, take whole replies out.
class reply_reader {
 public:
  reply_reader();
  void feed(const char* data, std::size_t size);
  // A whole reply, nullptr when more bytes are needed; `ec` set on bad input.
  reply_ptr next(error_code& ec);

 private:
  struct reader_deleter {
    void operator()(redisReader* r) const { redisReaderFree(r); }
  };
  std::unique_ptr<redisReader, reader_deleter> reader_;
};

}  // namespace switchboard::redis
