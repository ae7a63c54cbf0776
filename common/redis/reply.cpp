#include "common/redis/reply.hpp"

#include <new>
#include <vector>

#include "common/redis/error.hpp"

namespace switchboard::redis {

void append_command(std::string& out, std::span<const std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  long long size = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), argv.data(), lengths.data());
  if (size < 0) throw std::bad_alloc();
  out.append(formatted, static_cast<std::size_t>(size));
  redisFreeCommand(formatted);
}

reply_reader::reply_reader() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
  // Keep hiredis from holding on to a large buffer after a big reply.
  reader_->maxbuf = 64 * 1024;
}

void reply_reader::feed(const char* data, std::size_t size) { redisReaderFeed(reader_.get(), data, size); }

reply_ptr reply_reader::next(error_code& ec) {
  void* out = nullptr;
  if (redisReaderGetReply(reader_.get(), &out) != REDIS_OK) {
    ec = errc::protocol_error;
    return nullptr;
  }
  return reply_ptr(static_cast<redisReply*>(out));
}

}  // namespace switchboard::redis
