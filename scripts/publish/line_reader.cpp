#include "scripts/publish/line_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace switchboard::publish {
namespace {

// A pipe hands over at most 64 KiB at a time: one read takes all of it.
constexpr std::size_t chunk = 64 * 1024;

}  // namespace

std::optional<std::string_view> line_reader::next() {
  for (;;) {
    auto newline = buffer_.find('\n', start_);
    if (newline != std::string::npos || at_end_) {
      if (start_ == buffer_.size()) return std::nullopt;
      auto end = newline == std::string::npos ? buffer_.size() : newline;
      std::string_view line(buffer_.data() + start_, end - start_);
      start_ = newline == std::string::npos ? buffer_.size() : newline + 1;
      ++line_number_;
      return line;
    }
    at_end_ = !fill();
  }
}

bool line_reader::fill() {
  // Lines already returned are gone: their views died with the last call.
  buffer_.erase(0, start_);
  start_ = 0;
  auto size = buffer_.size();
  buffer_.resize(size + chunk);
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.data() + size, chunk);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int why = errno;
    buffer_.resize(size);
    throw std::system_error(why, std::generic_category(), "reading standard input");
  }
  buffer_.resize(size + static_cast<std::size_t>(n));
  return n > 0;
}

}  // namespace switchboard::publish
