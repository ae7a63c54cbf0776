#include "common/redis/reply.hpp"

#include <memory>
#include <new>
#include <vector>

#include "common/redis/error.hpp"

namespace switchboard::redis {

std::optional<std::vector<std::string>> strings_of(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(r->elements);
  for (std::size_t i = 0; i < r->elements; ++i) out.emplace_back(text_of(*r->element[i]));
  return out;
}

namespace {

// hiredis 0.14 allocates an array reply's element table as soon as it reads
// the header, so a broken or hostile peer announcing "*777777770" would make
// it allocate gigabytes (found by tests/fuzz/resp_fuzz). No reply of ours
// comes near this: the largest is the member list of one room.
constexpr int max_array_elements = 1 << 22;

redisReplyObjectFunctions* default_functions = nullptr;

void* create_bounded_array(const redisReadTask* task, int elements) {
  if (elements > max_array_elements) return nullptr;  // the reader fails: a protocol error for us
  return default_functions->createArray(task, elements);
}

// hiredis' own reply objects, with the array size bounded.
redisReplyObjectFunctions* bounded_functions() {
  static redisReplyObjectFunctions functions = [] {
    std::unique_ptr<redisReader, decltype(&redisReaderFree)> plain(redisReaderCreate(), redisReaderFree);
    if (!plain) throw std::bad_alloc();
    default_functions = plain->fn;  // hiredis' static table, valid for the process
    redisReplyObjectFunctions copy = *plain->fn;
    copy.createArray = create_bounded_array;
    return copy;
  }();
  return &functions;
}

}  // namespace

std::string info_field(std::string_view info, std::string_view name) {
  for (std::size_t at = 0; at < info.size();) {
    auto end = info.find_first_of("\r\n", at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':')
      return std::string(line.substr(name.size() + 1));
    at = end + 1;
  }
  return {};
}

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

reply_reader::reply_reader() : reader_(redisReaderCreateWithFunctions(bounded_functions())) {
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
