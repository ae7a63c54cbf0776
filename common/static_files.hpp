#pragma once
// Files under one directory (the demo page and switchboard.js), looked up by
// request path: percent-decoded, confined to the directory (no `..`, no
// hidden files, no symlink out of it), bounded in size, with an ETag so a
// browser revalidates with a 304 instead of downloading again.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace switchboard {

struct static_file {
  std::string body;
  std::string_view content_type;
  std::string etag;  // strong, quoted: "<mtime>-<size>" in hex
};

enum class static_miss {
  not_found,  // no such file, a directory without index.html, or a refused path
  too_large,  // a regular file bigger than the size limit
};

class static_files {
 public:
  // An empty root serves nothing.
  static_files(std::filesystem::path root, std::size_t max_bytes);

  // `path` is the request target's path, still percent-encoded, without the
  // query. "/" and directories map to their index.html.
  std::variant<static_file, static_miss> find(std::string_view path) const;

 private:
  std::filesystem::path root_;  // canonical, or empty
  std::size_t max_bytes_;
};

// The Content-Type for a file name, by extension; application/octet-stream
// when unknown.
std::string_view content_type_for(std::string_view file_name);

// True when an If-None-Match header value names `etag` (or is "*"); weak
// comparison, as RFC 9110 asks for If-None-Match.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace switchboard
