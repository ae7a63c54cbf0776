#pragma once
// The lines of a file descriptor (standard input), read in large chunks, so
// a caller can tell whether the next line is already here or must be waited
// for: switchboard-publish sends what it holds before it blocks on a read.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::publish {

class line_reader {
 public:
  explicit line_reader(int fd) : fd_(fd) {}

  // The next line without its '\n' (the last one may lack it), valid until
  // the next call; nullopt at the end of the input. May block on read(2);
  // throws std::system_error when the read fails.
  std::optional<std::string_view> next();
  // Whether next() answers without reading: a whole line, or the end, is buffered.
  bool ready() const { return at_end_ || buffer_.find('\n', start_) != std::string::npos; }
  // The number of the line next() returned last, from 1.
  std::size_t line_number() const { return line_number_; }

 private:
  // Appends one read's worth; false at the end of the input.
  bool fill();

  int fd_;
  std::string buffer_;
  std::size_t start_ = 0;  // where the lines not yet returned begin
  bool at_end_ = false;
  std::size_t line_number_ = 0;
};

}  // namespace switchboard::publish
