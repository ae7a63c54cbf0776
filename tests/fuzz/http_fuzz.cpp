// libFuzzer target: bytes from a TCP peer through HTTP request handling as a
// worker does it: Beast's parser with the worker's header and body limits,
// then the static file lookup of the target's path and the If-None-Match
// check. Whatever the request, no file outside the www directory is served.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include "common/net.hpp"
#include "common/static_files.hpp"

using namespace switchboard;
namespace fs = std::filesystem;

namespace {

const std::string page = "<!doctype html>";
const std::string script = "export {};";

// A www directory with two files, beside a secret that must never come back.
const fs::path& www() {
  static const fs::path dir = [] {
    fs::path base = fs::temp_directory_path() / ("switchboard-http-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(base / "www" / "js");
    std::ofstream(base / "secret.txt") << "secret";
    std::ofstream(base / "www" / "index.html") << page;
    std::ofstream(base / "www" / "js" / "app.js") << script;
    return base / "www";
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const static_files files(www(), 64 * 1024);
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  error_code ec;
  parser.put(asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;

  const auto& req = parser.get();
  std::string_view target = req.target();
  auto found = files.find(target.substr(0, target.find('?')));
  if (auto* file = std::get_if<static_file>(&found)) {
    if (file->body != page && file->body != script) std::abort();
    (void)etag_matches(req[http::field::if_none_match], file->etag);
  }
  return 0;
}
