#include "common/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/url/pct_string_view.hpp>
#include <cstdio>
#include <utility>

namespace switchboard {
namespace fs = std::filesystem;
namespace {

// A decoded path segment we are willing to look up: no traversal ("." and
// ".." start with a dot, as do hidden files such as .git), no separators
// smuggled in through %2F or %5C, no NUL.
bool safe_segment(std::string_view segment) {
  if (segment.empty() || segment.front() == '.') return false;
  return segment.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

// True when `path` is `root` or inside it; both canonical.
bool inside(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

// Closes a descriptor on every path out of find().
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

static_files::static_files(fs::path root, std::size_t max_bytes) : max_bytes_(max_bytes) {
  std::error_code ec;
  if (!root.empty()) root_ = fs::canonical(root, ec);
  if (ec) root_.clear();
}

std::variant<static_file, static_miss> static_files::find(std::string_view path) const {
  if (root_.empty() || path.empty() || path.front() != '/') return static_miss::not_found;
  // Split by hand rather than with a URL parser: parsers normalise "." and
  // "..", and this must see every segment exactly as sent.
  fs::path candidate = root_;
  for (std::string_view rest = path.substr(1); !rest.empty();) {
    auto slash = rest.find('/');
    auto segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (segment.empty() && rest.empty()) break;  // a trailing slash: the directory
    auto encoded = boost::urls::make_pct_string_view(segment);
    if (!encoded) return static_miss::not_found;
    std::string decoded = encoded->decode();
    if (!safe_segment(decoded)) return static_miss::not_found;
    candidate /= decoded;
  }
  std::error_code ec;
  if (fs::is_directory(candidate, ec)) candidate /= "index.html";
  // A symlink may point anywhere; what it resolves to must still be inside.
  fs::path real = fs::canonical(candidate, ec);
  if (ec || !inside(real, root_)) return static_miss::not_found;

  // The canonical path has no symlinks left, so O_NOFOLLOW refuses one
  // swapped in since.
  fd_guard file{::open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  struct stat st {};
  if (file.fd < 0 || ::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) return static_miss::not_found;
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes_) return static_miss::too_large;

  static_file out;
  out.body.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.body.size()) {
    ssize_t n = ::read(file.fd, out.body.data() + got, out.body.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return static_miss::not_found;  // shrank or failed under us
    got += static_cast<std::size_t>(n);
  }
  out.content_type = content_type_for(real.filename().native());
  char tag[64];
  auto mtime_ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                  static_cast<unsigned long long>(st.st_mtim.tv_nsec);
  std::snprintf(tag, sizeof tag, "\"%llx-%llx\"", mtime_ns, static_cast<unsigned long long>(st.st_size));
  out.etag = tag;
  return out;
}

std::string_view content_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> types{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".wasm", "application/wasm"},
  }};
  for (const auto& [extension, type] : types)
    if (file_name.size() > extension.size() && file_name.ends_with(extension)) return type;
  return "application/octet-stream";
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  auto strip_weak = [](std::string_view tag) { return tag.starts_with("W/") ? tag.substr(2) : tag; };
  etag = strip_weak(etag);
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto item = if_none_match.substr(0, comma);
    if_none_match = comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
    auto first = item.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
    if (item == "*" || strip_weak(item) == etag) return true;
  }
  return false;
}

}  // namespace switchboard
